"""Who is calling: the bearer token's principal, anonymous read-only when allowed, else 401.

`caller` is for the API's routes, where a metrics token has no business
(403); `metrics_reader` is for /metrics, which lists every app of every
project, so it needs a token (or anonymous access) covering all of them.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from gitward.server.auth import ALL_PROJECTS, Principal, Role
from gitward.server.state import Anonymous, ServerState

ANONYMOUS = Principal("anonymous", Role.read_only, frozenset({ALL_PROJECTS}))


async def _principal(request: Request) -> Principal:
    state: ServerState = request.app.state.gitward
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found = await state.tokens.lookup(token.strip())
        if found is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return found
    if state.settings.anonymous == Anonymous.read_only:
        return ANONYMOUS
    raise HTTPException(
        401, "a bearer token is required (`gitward token create`)", headers={"WWW-Authenticate": "Bearer"}
    )


async def caller(request: Request) -> Principal:
    found = await _principal(request)
    if found.role is Role.metrics:
        raise HTTPException(403, f"token {found.name!r} is a metrics token: it may read /metrics only")
    return found


async def metrics_reader(request: Request) -> Principal:
    found = await _principal(request)
    if not found.can_read_metrics():
        raise HTTPException(
            403,
            f"token {found.name!r} covers only some projects; /metrics lists every app of every project"
            " (use a metrics token: `gitward token create NAME --role metrics`)",
        )
    return found
