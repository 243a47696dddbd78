"""Which syncs are recorded as Running before their first write, and when a cached app copy may be used."""

from __future__ import annotations

from typing import Any

from gitward.controller.operation import _one_burst
from gitward.controller.operation_request import Pending
from gitward.controller.status import WrittenVersions

AUTOMATED = {"sync": {"revision": "abc"}, "initiatedBy": {"automated": True}}


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
