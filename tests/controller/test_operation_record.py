"""Which syncs are recorded as Running before their first write, what the record says, and when a cached
app copy may be used."""

from __future__ import annotations

from typing import Any

from gitward.controller.operation import AppPass, _Attempt, _one_burst, _running
from gitward.controller.operation_request import Pending
from gitward.controller.status import WrittenVersions
from gitward.engine.project_policy import allow_all
from gitward.engine.sync.resume import DoneHook
from gitward.model.application import Application
from gitward.model.status import OperationPhase, OperationState, ResultCode

AUTOMATED = {"sync": {"revision": "abc"}, "initiatedBy": {"automated": True}}
SOURCE = {"repoURL": "https://example.com/shop.git", "path": "deploy", "targetRevision": "main"}


def config_map(name: str, **annotations: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "annotations": annotations}}


def automated(**changes: Any) -> Pending:
    fields: dict[str, Any] = {
        "operation": AUTOMATED,
        "requested": False,
        "started_at": "2026-11-30T10:00:00Z",
    }
    fields.update(changes)
    return Pending(**fields)


def test_an_automated_first_attempt_of_one_wave_without_hooks_is_not_recorded() -> None:
    # Which objects make one burst: tests/engine/test_sync_resume.py.
    assert _one_burst(automated(), [config_map("a"), config_map("b")])


def test_hooks_waves_requests_retries_and_resumes_are_recorded() -> None:
    objects = [config_map("a")]
    hook = config_map("migrate", **{"argocd.argoproj.io/hook": "PreSync"})
    assert not _one_burst(automated(), [*objects, hook])
    assert not _one_burst(automated(requested=True), objects)
    assert not _one_burst(automated(retry_count=1), objects)
    assert not _one_burst(automated(resumed=True), objects)


def app(version: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "apps", "name": "web", "resourceVersion": version}}


def test_a_cached_app_older_than_our_own_last_write_is_not_used() -> None:
    writer = WrittenVersions()
    assert writer.current(app("5"))  # nothing written yet: the watch's copy is all there is
    writer.wrote(app("10"))
    assert not writer.current(app("9"))
    assert writer.current(app("10")) and writer.current(app("11"))
    assert not writer.current(None)
    assert not writer.current(app("not-a-number"))


def test_the_running_record_keeps_its_json_and_reads_as_the_models_operation_state() -> None:
    obj: dict[str, Any] = {
        "metadata": {"name": "shop", "namespace": "apps"},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            "source": SOURCE,
        },
    }
    app = Application.from_dict(obj)
    todo = automated(retry_count=0)
    attempt = _Attempt.of(AppPass(obj, app, allow_all()), todo, "abc")
    migrate = DoneHook("batch", "Job", "shop", "migrate", "PreSync", "PreSync", "job completed")
    state = _running(attempt, "sync started", [migrate])
    # What the UI, the CLI and Argo CD's tools read: every key, even a zero retryCount.
    assert state == {
        "phase": "Running",
        "message": "sync started",
        "operation": AUTOMATED,
        "startedAt": "2026-11-30T10:00:00Z",
        "retryCount": 0,
        "syncResult": {
            "revision": "abc",
            "source": SOURCE,
            "resources": [
                {
                    "group": "batch",
                    "kind": "Job",
                    "namespace": "shop",
                    "name": "migrate",
                    "status": "Synced",
                    "message": "job completed",
                    "syncPhase": "PreSync",
                    "hookType": "PreSync",
                    "hookPhase": "Succeeded",
                }
            ],
        },
    }
    parsed = OperationState.from_dict(state, "operationState")
    assert parsed.phase is OperationPhase.running
    assert parsed.sync_result is not None
    assert parsed.sync_result.resources[0].status == ResultCode.synced
