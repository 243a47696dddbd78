"""What a person asks of an Application (sync, rollback, refresh, delete), as the merge patch that asks it.

Nobody runs an operation but the controller. The CLI, the API server and a
`kubectl patch` all write the same request on the Application (its
`operation`, or an annotation) and the controller carries it out and reports
in `status.operationState`; so these functions are the whole contract, and
a restarted server or CLI loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.model.application import FINALIZERS, AppResource
from gitward.model.operation import PAUSE_ANNOTATION
from gitward.model.status import OperationPhase

# The fields that name one object of a partial sync (SyncOperationResource).
RESOURCE_FIELDS = ("group", "kind", "name", "namespace")


class RequestError(Exception):
    """A request that cannot be written; `missing` when it names something the app does not have."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def busy(app: Mapping[str, Any]) -> str | None:
    """Why a new operation must wait, or None: one operation at a time, as in Argo CD."""
    if app.get("operation"):
        return "another operation is already in progress (requested, not yet started)"
    state = (app.get("status") or {}).get("operationState") or {}
    phase = state.get("phase")
    if phase in (OperationPhase.running, OperationPhase.terminating):
        return f"another operation is already in progress ({phase})"
    return None


def sync_patch(
    user: str,
    *,
    prune: bool = False,
    dry_run: bool = False,
    revision: str | None = None,
    resources: Sequence[Mapping[str, str]] | None = None,
    sync_options: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A sync request; it also lifts a rollback's pause, in the same patch (how automation resumes)."""
    sync: dict[str, Any] = {"prune": prune, "dryRun": dry_run}
    if revision:
        sync["revision"] = revision
    if resources:
        # As Argo CD writes them: an empty group (the core group) or namespace is left out.
        sync["resources"] = [{k: str(r[k]) for k in RESOURCE_FIELDS if r.get(k)} for r in resources]
    if sync_options:
        sync["syncOptions"] = list(sync_options)
    return {
        "metadata": {"annotations": {PAUSE_ANNOTATION: None}},
        "operation": {"sync": sync, "initiatedBy": {"username": user}},
    }


def history_entry(app: Mapping[str, Any], wanted: int | None) -> dict[str, Any]:
    """The history entry a rollback returns to: `wanted`, or by default the one before the newest."""
    history = [h for h in (app.get("status") or {}).get("history") or [] if isinstance(h, Mapping)]
    if wanted is None:
        if len(history) < 2:
            raise RequestError("fewer than two deployments: nothing to roll back to")
        return dict(history[-2])
    for entry in history:
        if entry.get("id") == wanted:
            return dict(entry)
    known = ", ".join(str(h.get("id")) for h in history) or "none"
    raise RequestError(f"no history ID {wanted} (known: {known})", missing=True)


def rollback_patch(
    app: Mapping[str, Any], wanted: int | None, user: str, *, prune: bool = False
) -> dict[str, Any]:
    """Pause automation and deploy the entry's revision of the entry's source(s), in one patch.

    The pause keeps automated sync from undoing the rollback at once; the next manual sync lifts it.
    """
    entry = history_entry(app, wanted)
    revision = str(entry.get("revision") or "")
    ident = entry.get("id")
    if not revision:
        raise RequestError(f"history ID {ident} records no revision")
    sync: dict[str, Any] = {"revision": revision}
    if entry.get("sources"):
        sync["sources"] = entry["sources"]
    elif entry.get("source"):
        sync["source"] = entry["source"]
    if prune:
        sync["prune"] = True
    return {
        "metadata": {"annotations": {PAUSE_ANNOTATION: f"rollback to history {ident} ({revision[:12]})"}},
        "operation": {
            "sync": sync,
            "initiatedBy": {"username": user},
            "info": [{"name": "rollback", "value": str(ident)}],
        },
    }


def refresh_patch(resource: AppResource, hard: bool = False) -> dict[str, Any]:
    """Ask the controller to look at Git now (hard: and render again); it removes the annotation when done."""
    return {"metadata": {"annotations": {resource.refresh_annotation: "hard" if hard else "normal"}}}


def finalizer_patch(app: Mapping[str, Any], cascade: bool, resource: AppResource) -> dict[str, Any] | None:
    """Before a delete: make the finalizer match `cascade` (None: it already does).

    With the finalizer the controller deletes what the app deployed before the app goes.
    """
    metadata = app.get("metadata") or {}
    current = list(metadata.get("finalizers") or [])
    if cascade:
        if any(f in FINALIZERS for f in current):
            return None
        wanted = [*current, resource.finalizer]
    else:
        wanted = [f for f in current if f not in FINALIZERS]
        if wanted == current:
            return None
    # A merge patch replaces a list whole: it must fail rather than drop another writer's finalizer.
    return if_unchanged(app, {"metadata": {"finalizers": wanted}})


def if_unchanged(app: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`patch` carrying the resourceVersion `app` was read at: refused (409) if someone wrote since."""
    metadata = dict(patch.get("metadata") or {})
    metadata["resourceVersion"] = (app.get("metadata") or {}).get("resourceVersion")
    return {**patch, "metadata": metadata}
