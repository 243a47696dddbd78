"""The merge patches behind sync, rollback and refresh: exactly the shared contract, nothing more.

The API never runs an operation itself. It writes a request on the
Application (`operation`, or an annotation) and the controller carries it
out and reports in `status.operationState`; so the CLI, the API and a
`kubectl patch` all take the same path, and a server restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitward.model.operation import ARGOCD_REFRESH_ANNOTATION, PAUSE_ANNOTATION, REFRESH_ANNOTATION

PAUSED = PAUSE_ANNOTATION
REFRESH = REFRESH_ANNOTATION
ARGOCD_REFRESH = ARGOCD_REFRESH_ANNOTATION
FINALIZERS = ("gitward.dev/resources-finalizer", "resources-finalizer.argocd.argoproj.io")
RESOURCE_FIELDS = ("group", "kind", "name", "namespace")


class OperationError(Exception):
    """A request that cannot be turned into a patch; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def busy(app: Mapping[str, Any]) -> str | None:
    """Why a new operation must wait, or None: one operation at a time, as in Argo CD."""
    if app.get("operation"):
        return "another operation is already requested and not yet picked up"
    state = (app.get("status") or {}).get("operationState") or {}
    if state.get("phase") in ("Running", "Terminating"):
        return "another operation is running"
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
    """A sync request; it also lifts a rollback's pause, in the same patch."""
    sync: dict[str, Any] = {"prune": prune, "dryRun": dry_run}
    if revision:
        sync["revision"] = revision
    if resources:
        sync["resources"] = [{k: str(r.get(k) or "") for k in RESOURCE_FIELDS} for r in resources]
    if sync_options:
        sync["syncOptions"] = list(sync_options)
    return {
        "metadata": {"annotations": {PAUSED: None}},
        "operation": {"sync": sync, "initiatedBy": {"username": user}},
    }


def history_entry(app: Mapping[str, Any], wanted: int | None) -> dict[str, Any]:
    """The history entry a rollback returns to: `wanted`, or by default the one before the newest."""
    history = [h for h in (app.get("status") or {}).get("history") or [] if isinstance(h, Mapping)]
    if wanted is None:
        if len(history) < 2:
            raise OperationError(400, "nothing to roll back to: the app has fewer than two deployments")
        return dict(history[-2])
    for entry in history:
        if entry.get("id") == wanted:
            return dict(entry)
    known = ", ".join(str(h.get("id")) for h in history) or "none"
    raise OperationError(404, f"no history entry {wanted} (known: {known})")


def rollback_patch(app: Mapping[str, Any], wanted: int | None, user: str) -> dict[str, Any]:
    """Pause automation and deploy the entry's revision of the entry's source(s), in one patch."""
    entry = history_entry(app, wanted)
    revision = str(entry.get("revision") or "")
    if not revision:
        raise OperationError(400, f"history entry {entry.get('id')} records no revision")
    sync: dict[str, Any] = {"revision": revision}
    if entry.get("sources"):
        sync["sources"] = entry["sources"]
    elif entry.get("source"):
        sync["source"] = entry["source"]
    ident = entry.get("id")
    return {
        "metadata": {"annotations": {PAUSED: f"rollback to history {ident} ({revision[:12]})"}},
        "operation": {
            "sync": sync,
            "initiatedBy": {"username": user},
            "info": [{"name": "rollback", "value": str(ident)}],
        },
    }


def refresh_patch(hard: bool, argocd: bool = False) -> dict[str, Any]:
    annotation = ARGOCD_REFRESH if argocd else REFRESH
    return {"metadata": {"annotations": {annotation: "hard" if hard else "normal"}}}


def finalizer_patch(app: Mapping[str, Any], cascade: bool, argocd: bool = False) -> dict[str, Any] | None:
    """Before a delete: make sure the finalizer matches `cascade` (None: it already does).

    The resourceVersion makes the patch fail rather than overwrite a list
    another writer changed meanwhile (a merge patch replaces lists whole).
    """
    metadata = app.get("metadata") or {}
    current = list(metadata.get("finalizers") or [])
    ours = FINALIZERS[1] if argocd else FINALIZERS[0]
    if cascade:
        if any(f in FINALIZERS for f in current):
            return None
        wanted = [*current, ours]
    else:
        wanted = [f for f in current if f not in FINALIZERS]
        if wanted == current:
            return None
    return {"metadata": {"finalizers": wanted, "resourceVersion": metadata.get("resourceVersion")}}
