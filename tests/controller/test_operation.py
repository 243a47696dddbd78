"""The operation lifecycle's decisions, on plain dicts: what runs, what resumes, what waits, what retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gitward.controller import operation_request as records
from gitward.controller.operation_request import Pending
from gitward.engine.desired import Revisioned
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.operation import RetryStrategy

SHA1 = "1" * 40
SHA2 = "2" * 40
SOURCE = {"repoURL": "git://example/shop", "path": "deploy", "targetRevision": "main"}


def app_dict(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": "apps"},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            "source": SOURCE,
            "syncPolicy": {"automated": {"prune": True}},
            **spec,
        },
    }


def app_of(obj: dict[str, Any]) -> Application:
    return Application.from_dict({k: v for k, v in obj.items() if k != "operation"})


def config_map(name: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
    }


def test_a_requested_operation_is_pending_and_a_finished_one_is_not() -> None:
    obj = app_dict()
    assert records.pending(obj) is None
    obj["status"] = {"operationState": {"phase": "Succeeded", "operation": {"sync": {}}}}
    assert records.pending(obj) is None

    obj["operation"] = {"sync": {"prune": True}, "initiatedBy": {"username": "ann"}}
    todo = records.pending(obj)
    assert todo is not None
    assert (todo.requested, todo.retry_count, todo.done_hooks, todo.wait) == (True, 0, (), 0.0)


def test_a_running_state_left_by_a_crash_is_resumed_with_its_finished_hooks() -> None:
    automated = {"sync": {"revision": SHA1, "prune": True}, "initiatedBy": {"automated": True}}
    hook = {"kind": "Job", "name": "migrate", "namespace": "shop", "syncPhase": "PreSync"}
    obj = app_dict()
    obj["status"] = {
        "operationState": {
            "phase": "Running",
            "operation": automated,
            "startedAt": "2026-01-01T00:00:00Z",
            "syncResult": {
                "revision": SHA1,
                "resources": [
                    {**hook, "hookPhase": "Succeeded"},
                    {**hook, "name": "other", "hookPhase": "Failed"},
                ],
            },
        }
    }
    todo = records.pending(obj)
    assert todo is not None
    assert not todo.requested and todo.automated
    assert todo.started_at == "2026-01-01T00:00:00Z", "a resumed operation keeps its start"
    assert [h.name for h in todo.done_hooks] == ["migrate"]
    assert todo.wait == 0.0


def test_between_attempts_the_backoff_is_measured_from_the_last_attempt() -> None:
    last = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    retry = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "1m"}}
    obj = app_dict()
    obj["status"] = {
        "operationState": {
            "phase": "Running",
            "operation": {"sync": {"revision": SHA1}, "initiatedBy": {"automated": True}, "retry": retry},
            "retryCount": 2,
            "finishedAt": "2026-01-01T12:00:00Z",
            "syncResult": {"resources": [{"kind": "Job", "name": "x", "hookPhase": "Succeeded"}]},
        }
    }
    todo = records.pending(obj, now=last + dt.timedelta(seconds=5))
    assert todo is not None
    assert todo.wait == 15.0, "the second retry waits 10s x 2, and 5s of it have passed"
    assert todo.done_hooks == (), "a new attempt runs its hooks again"
    assert records.pending(obj, now=last + dt.timedelta(minutes=5)).wait == 0.0  # type: ignore[union-attr]


def test_retry_delays_double_up_to_the_cap_and_the_limit_counts_retries() -> None:
    strategy = RetryStrategy.from_dict(
        {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "12s"}}
    )
    assert [strategy.delay(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 12.0, 12.0]
    assert [strategy.allows(n) for n in (0, 2, 3)] == [True, True, False]
    assert RetryStrategy.from_dict({"limit": -1}).allows(10_000)
    assert RetryStrategy().limit == 5
    assert not records.retry_policy({"sync": {}}).allows(0), "a manual sync retries only when asked"


def test_a_rollback_pins_the_history_entry_source_at_its_revision() -> None:
    obj = app_dict()
    old_source = {**SOURCE, "path": "old"}
    obj["operation"] = {"sync": {"revision": SHA1, "source": old_source}, "initiatedBy": {"username": "ann"}}
    todo = records.pending(obj)
    assert todo is not None
    pinned = records.pinned_sources(app_of(obj), todo)
    assert pinned is not None
    assert [(s.path, s.target_revision) for s in pinned] == [("old", SHA1)]


def test_a_plain_sync_uses_the_spec_and_a_revision_alone_pins_the_spec_source() -> None:
    obj = app_dict()
    plain = Pending({"sync": {"prune": True}}, requested=True, started_at="")
    assert records.pinned_sources(app_of(obj), plain) is None
    pinned = records.pinned_sources(app_of(obj), Pending({"sync": {"revision": SHA2}}, True, ""))
    assert pinned is not None
    assert [(s.path, s.target_revision) for s in pinned] == [("deploy", SHA2)]


def test_several_sources_need_one_revision_each() -> None:
    obj = app_dict(sources=[SOURCE, {**SOURCE, "path": "more"}])
    del obj["spec"]["source"]
    app = app_of(obj)
    pinned = records.pinned_sources(app, Pending({"sync": {"revision": f"{SHA1},{SHA2}"}}, True, ""))
    assert pinned is not None
    assert [s.target_revision for s in pinned] == [SHA1, SHA2]
    with pytest.raises(SpecError, match="1 revision"):
        records.pinned_sources(app, Pending({"sync": {"revisions": [SHA1]}}, True, ""))


def test_automation_syncs_a_new_revision_pinned_to_its_commit_with_the_retry_policy() -> None:
    obj = app_dict()
    request, conditions = records.automated_request(
        obj, app_of(obj), Revisioned([SHA1], [config_map("a")]), in_sync=False
    )
    assert conditions == []
    assert request is not None
    assert request["sync"] == {"prune": True, "revision": SHA1}
    assert request["initiatedBy"] == {"automated": True}
    assert records.retry_policy(request).limit == 5


def test_automation_leaves_a_synced_revision_alone_without_self_heal() -> None:
    obj = app_dict()
    obj["status"] = {"history": [{"id": 0, "revision": SHA1}]}
    rendered = Revisioned([SHA1], [config_map("a")])
    assert records.automated_request(obj, app_of(obj), rendered, in_sync=False) == (None, [])
    obj["spec"]["syncPolicy"]["automated"]["selfHeal"] = True
    request, _ = records.automated_request(obj, app_of(obj), rendered, in_sync=False)
    assert request is not None


def test_a_failed_revision_is_not_retried_by_automation_until_git_or_the_spec_changes() -> None:
    obj = app_dict()
    obj["status"] = {
        "operationState": {
            "phase": "Failed",
            "message": "web: spec.replicas: Invalid value",
            "retryCount": 2,
            "operation": {"sync": {"revision": SHA1}},
            "syncResult": {"revision": SHA1, "source": SOURCE},
        }
    }
    rendered = Revisioned([SHA1], [config_map("a")])
    request, conditions = records.automated_request(obj, app_of(obj), rendered, in_sync=False)
    assert request is None
    assert [c["type"] for c in conditions] == ["SyncError"]
    assert "3 attempts" in conditions[0]["message"] and "spec.replicas" in conditions[0]["message"]

    state = obj["status"]["operationState"]
    state["operation"] = {"sync": {"revision": SHA1, "dryRun": True}}
    assert records.automated_request(obj, app_of(obj), rendered, in_sync=False)[0] is not None, (
        "a failed dry run is no attempt"
    )
    state["operation"] = {"sync": {"revision": SHA1}}

    newer = Revisioned([SHA2], [config_map("a")])
    assert records.automated_request(obj, app_of(obj), newer, in_sync=False)[0] is not None
    obj["spec"]["source"] = {**SOURCE, "path": "elsewhere"}
    assert records.automated_request(obj, app_of(obj), rendered, in_sync=False)[0] is not None


def test_the_pause_annotation_stops_automation_and_says_how_to_resume() -> None:
    obj = app_dict()
    obj["metadata"]["annotations"] = {records.PAUSE_ANNOTATION: f"rollback to history 3 ({SHA1[:12]})"}
    request, conditions = records.automated_request(
        obj, app_of(obj), Revisioned([SHA2], [config_map("a")]), in_sync=False
    )
    assert request is None
    assert conditions == [
        {
            "type": "AutomationPaused",
            "message": f"rollback to history 3 ({SHA1[:12]}); run `gitward app sync shop` to resume",
        }
    ]


def test_refresh_annotations() -> None:
    obj = app_dict()
    assert records.refresh_requested(obj) is None
    obj["metadata"]["annotations"] = {"argocd.argoproj.io/refresh": "normal"}
    assert records.refresh_requested(obj) == "normal"
    obj["metadata"]["annotations"]["gitward.dev/refresh"] = "hard"
    assert records.refresh_requested(obj) == "hard"


def test_condition_times_stay_put_while_the_condition_holds() -> None:
    before = [{"type": "SyncError", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    same = records.with_times(before, [{"type": "SyncError", "message": "m"}])
    assert same == before
    changed = records.with_times(before, [{"type": "SyncError", "message": "other"}])
    assert changed[0]["lastTransitionTime"] != "2026-01-01T00:00:00Z"
