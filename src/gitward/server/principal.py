"""Who is calling: the bearer token's principal, anonymous read-only when allowed, else 401."""

from __future__ import annotations

from fastapi import HTTPException, Request

from gitward.server.auth import ALL_PROJECTS, Principal, Role
from gitward.server.state import Anonymous, ServerState

ANONYMOUS = Principal("anonymous", Role.read_only, frozenset({ALL_PROJECTS}))


async def caller(request: Request) -> Principal:
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
