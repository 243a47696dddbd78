"""The requests the CLI and the API server write on an Application: the patches, exactly."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model.application import ARGOCD_GROUP, FINALIZER, AppResource
from gitward.model.requests import (
    RequestError,
    busy,
    finalizer_patch,
    history_entry,
    if_unchanged,
    refresh_patch,
    rollback_patch,
    sync_patch,
)

PAUSED = "gitward.dev/automation-paused"
ARGOCD = AppResource(group=ARGOCD_GROUP)


def app(
    *,
    history: list[dict[str, Any]] | None = None,
    finalizers: list[str] | None = None,
    operation: dict[str, Any] | None = None,
    phase: str = "",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": "gitward", "resourceVersion": "7"}
    if finalizers is not None:
        metadata["finalizers"] = finalizers
    obj: dict[str, Any] = {"metadata": metadata, "status": {"history": history or []}}
    if phase:
        obj["status"]["operationState"] = {"phase": phase}
    if operation is not None:
        obj["operation"] = operation
    return obj


def test_a_sync_asks_for_exactly_what_was_given_and_lifts_a_rollback_pause() -> None:
    assert sync_patch("alice") == {
        "metadata": {"annotations": {PAUSED: None}},
        "operation": {"sync": {"prune": False, "dryRun": False}, "initiatedBy": {"username": "alice"}},
    }
    patch = sync_patch(
        "bob",
        prune=True,
        revision="v2",
        resources=[{"group": "apps", "kind": "Deployment", "name": "web", "namespace": ""}, {"kind": "x"}],
        sync_options=["Replace=true"],
    )
    assert patch["operation"]["sync"] == {
        "prune": True,
        "dryRun": False,
        "revision": "v2",
        # As Argo CD writes them: an empty group or namespace is left out.
        "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}, {"kind": "x"}],
        "syncOptions": ["Replace=true"],
    }


def test_one_operation_at_a_time() -> None:
    assert busy(app()) is None
    assert busy(app(phase="Succeeded")) is None
    assert "not yet started" in (busy(app(operation={"sync": {}})) or "")
    assert busy(app(phase="Running")) == "another operation is already in progress (Running)"
    assert busy(app(phase="Terminating")) == "another operation is already in progress (Terminating)"


def test_a_rollback_defaults_to_the_deployment_before_the_newest() -> None:
    history = [
        {"id": 3, "revision": "a" * 40, "sources": [{"repoURL": "u"}]},
        {"id": 4, "revision": "b" * 40, "source": {"repoURL": "u"}},
    ]
    patch = rollback_patch(app(history=history), None, "alice")
    assert patch == {
        "metadata": {"annotations": {PAUSED: f"rollback to history 3 ({'a' * 12})"}},
        "operation": {
            "sync": {"revision": "a" * 40, "sources": [{"repoURL": "u"}]},
            "initiatedBy": {"username": "alice"},
            "info": [{"name": "rollback", "value": "3"}],
        },
    }
    named = rollback_patch(app(history=history), 4, "bob", prune=True)
    assert named["operation"]["sync"] == {"revision": "b" * 40, "source": {"repoURL": "u"}, "prune": True}
    assert history_entry(app(history=history), 4) == history[1]


def test_a_rollback_with_nowhere_to_go_says_why() -> None:
    history: list[dict[str, Any]] = [{"id": 0, "revision": "a" * 40}, {"id": 1}]
    with pytest.raises(RequestError, match=r"no history ID 9 \(known: 0, 1\)") as unknown:
        rollback_patch(app(history=history), 9, "alice")
    assert unknown.value.missing
    with pytest.raises(RequestError, match="fewer than two deployments") as lonely:
        rollback_patch(app(history=history[:1]), None, "alice")
    assert not lonely.value.missing
    with pytest.raises(RequestError, match="history ID 1 records no revision"):
        rollback_patch(app(history=history), 1, "alice")


def test_a_refresh_uses_the_annotation_of_the_apps_group() -> None:
    assert refresh_patch(AppResource()) == {"metadata": {"annotations": {"gitward.dev/refresh": "normal"}}}
    assert refresh_patch(ARGOCD, hard=True) == {
        "metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}
    }


def test_a_cascading_delete_needs_one_finalizer_of_ours() -> None:
    assert finalizer_patch(app(finalizers=["other"]), True, AppResource()) == {
        "metadata": {"finalizers": ["other", FINALIZER], "resourceVersion": "7"}
    }
    assert finalizer_patch(app(), True, ARGOCD) == {
        "metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"], "resourceVersion": "7"}
    }
    # Either group's finalizer does: the controller honours both.
    assert (
        finalizer_patch(app(finalizers=["resources-finalizer.argocd.argoproj.io"]), True, AppResource())
        is None
    )


def test_a_delete_without_cascade_removes_every_finalizer_of_ours_and_only_those() -> None:
    ours = [FINALIZER, "other", "resources-finalizer.argocd.argoproj.io"]
    assert finalizer_patch(app(finalizers=ours), False, AppResource()) == {
        "metadata": {"finalizers": ["other"], "resourceVersion": "7"}
    }
    assert finalizer_patch(app(finalizers=["other"]), False, AppResource()) is None


def test_if_unchanged_carries_the_version_read_and_keeps_the_rest() -> None:
    patch = sync_patch("alice")
    guarded = if_unchanged(app(), patch)
    assert guarded["metadata"] == {"annotations": {PAUSED: None}, "resourceVersion": "7"}
    assert guarded["operation"] == patch["operation"]
    assert "resourceVersion" not in patch["metadata"]  # the input is left as it was


def test_app_resource_paths_and_names_follow_the_group() -> None:
    ours = AppResource()
    assert ours.path("gitward", "web") == "/apis/gitward.dev/v1alpha1/namespaces/gitward/applications/web"
    assert ours.path("gitward", "web", "status").endswith("/applications/web/status")
    assert ours.collection("ns") == "/apis/gitward.dev/v1alpha1/namespaces/ns/applications"
    assert (ours.api_version, ours.finalizer, ours.argocd) == ("gitward.dev/v1alpha1", FINALIZER, False)
    assert (ARGOCD.api_version, ARGOCD.argocd) == ("argoproj.io/v1alpha1", True)
