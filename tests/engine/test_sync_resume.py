"""The rules a resumed sync follows, on plain values: which hooks it skips, which it waits for."""

from __future__ import annotations

from typing import Any

from gitward.engine.hooks import hook_of
from gitward.engine.sync.resume import DoneHook, adoptable, one_burst, started_since, without_done_hooks
from gitward.model.resource import TRACKING_ANNOTATION

OWNER = "apps_shop"
STARTED = "2026-11-30T10:00:00Z"


def config_map(name: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
    }


def hook(name: str, phases: str) -> dict[str, Any]:
    return config_map(name, **{"argocd.argoproj.io/hook": phases})


def done(name: str, phase: str) -> DoneHook:
    return DoneHook("", "ConfigMap", "shop", name, phase, phase)


def test_one_wave_without_hooks_is_one_burst() -> None:
    assert one_burst([config_map("a"), config_map("b")])
    assert one_burst([config_map("a", **{"argocd.argoproj.io/sync-wave": "2"})])
    assert one_burst([])


def test_hooks_and_waves_are_not_one_burst() -> None:
    assert not one_burst([config_map("a"), hook("migrate", "PreSync")])
    assert not one_burst([config_map("a"), config_map("b", **{"argocd.argoproj.io/sync-wave": "1"})])
    # An unreadable wave is the sync's to refuse; the attempt is recorded like any other.
    assert not one_burst([config_map("b", **{"argocd.argoproj.io/sync-wave": "soon"})])


def test_finished_hooks_are_left_out_of_a_resumed_sync() -> None:
    presync = hook("migrate", "PreSync")
    both = hook("check", "PreSync,PostSync")
    generated = hook("", "PostSync")
    generated["metadata"]["generateName"] = "notify-"
    plain = config_map("settings")
    finished = [done("migrate", "PreSync"), done("check", "PreSync"), done("notify-x7k2p", "PostSync")]
    kept = without_done_hooks([presync, both, generated, plain], finished)
    assert [o["metadata"]["name"] for o in kept] == ["check", "settings"], (
        "a hook still owed a phase runs; finished ones and generateName runs that finished do not"
    )
    assert without_done_hooks([presync, plain], []) == [presync, plain]


def test_a_hook_in_another_namespace_or_kind_is_not_the_one_that_finished() -> None:
    elsewhere = DoneHook("", "ConfigMap", "other", "migrate", "PreSync", "PreSync")
    secret = DoneHook("", "Secret", "shop", "migrate", "PreSync", "PreSync")
    presync = hook("migrate", "PreSync")
    assert without_done_hooks([presync], [elsewhere, secret]) == [presync]


def test_only_named_single_phase_hooks_not_yet_done_are_adopted() -> None:
    presync = hook("migrate", "PreSync")
    both = hook("check", "PreSync,PostSync")
    generated = hook("", "PostSync")
    generated["metadata"]["generateName"] = "notify-"
    finished = hook("seed", "PreSync")
    found = adoptable([presync, both, generated, finished, config_map("settings")], [done("seed", "PreSync")])
    assert [obj["metadata"]["name"] for obj, _ in found] == ["migrate"]


def live(created: str, tracking: str = f"{OWNER}:/ConfigMap:shop/migrate") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "migrate",
            "creationTimestamp": created,
            "annotations": {TRACKING_ANNOTATION: tracking},
        }
    }


def test_a_live_hook_is_the_interrupted_run_only_if_ours_and_created_since_the_start() -> None:
    assert started_since(live(STARTED), OWNER, STARTED)
    assert started_since(live("2026-11-30T10:00:05Z"), OWNER, STARTED)
    assert not started_since(live("2026-11-30T09:59:59Z"), OWNER, STARTED), "an older run"
    assert not started_since(live(STARTED, "someone-else:/ConfigMap:shop/migrate"), OWNER, STARTED)
    assert not started_since({"metadata": {"name": "migrate"}}, OWNER, STARTED)


def test_a_done_hook_round_trips_through_its_result_entry() -> None:
    entry = {
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
    found = DoneHook.from_entry(entry)
    assert found is not None and found.as_entry() == entry
    assert DoneHook.from_entry({**entry, "hookPhase": "Failed"}) is None
    assert DoneHook.from_entry({**entry, "hookPhase": "Running"}) is None


def test_an_adopted_hook_is_recorded_with_its_phase_and_type() -> None:
    obj = hook("migrate", "PreSync")
    found = hook_of(obj)
    assert found is not None
    adopted = DoneHook.adopted(obj, found, "job completed")
    assert adopted == DoneHook("", "ConfigMap", "shop", "migrate", "PreSync", "PreSync", "job completed")
