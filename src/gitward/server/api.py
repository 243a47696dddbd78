"""REST routes under /api/v1: applications, their tree, manifests, diff, history, events, and operations.

Reads are served from the watch-fed index (one app's tree, manifests and
diff ask the cluster or Git, as they must); writes are merge patches of the
Application that the controller acts on. Every route takes the caller from
`auth`: reads are limited to the projects the token may see, writes need
the admin role for the app's project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gitward.kube import KubeError
from gitward.model import requests
from gitward.model.redact import redact_text
from gitward.server.auth import Principal
from gitward.server.desired import DesiredError
from gitward.server.index import Filters, decode_token
from gitward.server.principal import caller
from gitward.server.state import ServerState

router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(caller)]


class ResourceRef(BaseModel):
    group: str = ""
    kind: str
    name: str
    namespace: str = ""


class SyncBody(BaseModel):
    prune: bool = False
    dryRun: bool = False
    revision: str | None = None
    resources: list[ResourceRef] | None = None
    syncOptions: list[str] | None = None


class RollbackBody(BaseModel):
    id: int | None = Field(default=None, description="History id; default: the entry before the newest.")


class RefreshBody(BaseModel):
    hard: bool = False


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.gitward
    return state


def _project(app: Mapping[str, Any]) -> str:
    return str((app.get("spec") or {}).get("project") or "default")


def _find(
    state: ServerState, who: Principal, namespace: str, name: str, write: bool = False
) -> Mapping[str, Any]:
    app = state.index.get(namespace, name)
    if app is None:
        raise HTTPException(404, f"application {namespace}/{name} not found")
    project = _project(app)
    if not who.can_read(project):
        raise HTTPException(403, f"token {who.name!r} may not see project {project!r}")
    if write and not who.can_write(project):
        raise HTTPException(
            403, f"token {who.name!r} ({who.role}) may not change apps of project {project!r}"
        )
    return app


async def _patch(state: ServerState, namespace: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        done = await state.writer.merge_patch_at(state.settings.resource.path(namespace, name), body)
    except KubeError as problem:
        raise _http(problem) from None
    return done


def _http(problem: KubeError) -> HTTPException:
    if problem.code in (404, 409, 422, 400):
        return HTTPException(problem.code, redact_text(problem.message))
    return HTTPException(502, redact_text(f"the cluster refused: {problem}"))


def _unrenderable(problem: Exception) -> HTTPException:
    """422 for a revision that cannot be rendered; a repoURL's credentials never reach the caller,
    whichever layer built the message."""
    return HTTPException(422, redact_text(str(problem)))


@router.get("/applications")
def list_applications(
    request: Request,
    who: Caller,
    project: Annotated[list[str] | None, Query()] = None,
    namespace: str = "",
    cluster: str = "",
    sync: str = "",
    health: str = "",
    search: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    continue_: Annotated[str | None, Query(alias="continue")] = None,
) -> JSONResponse:
    """Apps the caller may see, in (namespace, name) order, filtered, one page at a time."""
    state = _state(request)
    try:
        after = decode_token(continue_) if continue_ else None
    except ValueError as problem:
        raise HTTPException(400, str(problem)) from None
    filters = Filters(frozenset(project or ()), namespace, cluster, sync, health, search, who.can_read)
    page = state.index.page(filters, limit, after)
    # Plain JSON: the summaries are JSON already, and FastAPI's encoder walking them would double the time.
    return JSONResponse({"items": page.items, "total": page.total, "continue": page.next})


@router.get("/applications/{namespace}/{name}")
def get_application(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    """The whole Application, less managedFields (bookkeeping of the apiserver, often half its size)."""
    app = dict(_find(_state(request), who, namespace, name))
    app["metadata"] = {k: v for k, v in (app.get("metadata") or {}).items() if k != "managedFields"}
    return app


@router.get("/applications/{namespace}/{name}/history")
def history(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    app = _find(_state(request), who, namespace, name)
    return {"history": list((app.get("status") or {}).get("history") or [])}


@router.get("/applications/{namespace}/{name}/resource-tree")
async def resource_tree(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name)
    try:
        nodes = await state.tree.build(app)
    except KubeError as problem:
        raise _http(problem) from None
    return {"nodes": nodes}


@router.get("/applications/{namespace}/{name}/manifests")
async def manifests(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name)
    try:
        return await state.desired.manifests(app)
    except DesiredError as problem:
        raise _unrenderable(problem) from None


@router.get("/applications/{namespace}/{name}/diff")
async def diff(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name)
    try:
        return await state.desired.diff(app)
    except DesiredError as problem:
        raise _unrenderable(problem) from None
    except KubeError as problem:
        raise _http(problem) from None


@router.get("/applications/{namespace}/{name}/events")
async def events(request: Request, who: Caller, namespace: str, name: str) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name)
    selector = f"involvedObject.name={name},involvedObject.kind={app.get('kind', 'Application')}"
    try:
        answer = await state.connection.request(
            "GET", f"/api/v1/namespaces/{namespace}/events", params={"fieldSelector": selector}
        )
    except KubeError as problem:
        raise _http(problem) from None
    uid = (app.get("metadata") or {}).get("uid")
    items = [
        {
            "type": e.get("type"),
            "reason": e.get("reason"),
            "message": e.get("message"),
            "count": e.get("count", 1),
            "firstTimestamp": e.get("firstTimestamp") or e.get("eventTime"),
            "lastTimestamp": e.get("lastTimestamp") or e.get("eventTime"),
            "source": (e.get("source") or {}).get("component") or e.get("reportingComponent"),
        }
        for e in answer.get("items") or []
        # An app deleted and re-created under the same name must not show its predecessor's events.
        if not uid or (e.get("involvedObject") or {}).get("uid") in (uid, None, "")
    ]
    items.sort(key=lambda e: str(e["lastTimestamp"] or ""))
    return {"items": items}


@router.post("/applications/{namespace}/{name}/sync")
async def sync(
    request: Request, who: Caller, namespace: str, name: str, body: SyncBody | None = None
) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name, write=True)
    body = body or SyncBody()
    reason = requests.busy(app)
    if reason:
        raise HTTPException(409, reason)
    patch = requests.sync_patch(
        who.name,
        prune=body.prune,
        dry_run=body.dryRun,
        revision=body.revision,
        resources=[r.model_dump() for r in body.resources] if body.resources else None,
        sync_options=body.syncOptions,
    )
    return await _patch(state, namespace, name, patch)


@router.post("/applications/{namespace}/{name}/rollback")
async def rollback(
    request: Request, who: Caller, namespace: str, name: str, body: RollbackBody | None = None
) -> dict[str, Any]:
    state = _state(request)
    app = _find(state, who, namespace, name, write=True)
    reason = requests.busy(app)
    if reason:
        raise HTTPException(409, reason)
    try:
        patch = requests.rollback_patch(app, (body or RollbackBody()).id, who.name)
    except requests.RequestError as problem:
        raise HTTPException(404 if problem.missing else 400, str(problem)) from None
    return await _patch(state, namespace, name, patch)


@router.post("/applications/{namespace}/{name}/refresh")
async def refresh(
    request: Request, who: Caller, namespace: str, name: str, body: RefreshBody | None = None
) -> dict[str, Any]:
    state = _state(request)
    _find(state, who, namespace, name, write=True)
    patch = requests.refresh_patch(state.settings.resource, (body or RefreshBody()).hard)
    return await _patch(state, namespace, name, patch)


@router.delete("/applications/{namespace}/{name}", status_code=202)
async def delete(
    request: Request, who: Caller, namespace: str, name: str, cascade: bool = True
) -> dict[str, Any]:
    """Delete the app; with cascade (the default) the controller first deletes what it deployed."""
    state = _state(request)
    app = _find(state, who, namespace, name, write=True)
    patch = requests.finalizer_patch(app, cascade, state.settings.resource)
    if patch is not None:
        await _patch(state, namespace, name, patch)
    try:
        await state.writer.delete_at(state.settings.resource.path(namespace, name))
    except KubeError as problem:
        raise _http(problem) from None
    return {"deleted": f"{namespace}/{name}", "cascade": cascade}
