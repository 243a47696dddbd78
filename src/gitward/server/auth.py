"""Bearer tokens: made once, kept only as a SHA-256 hash in a Secret, each with a role and projects.

A token is 32 random bytes; a hash of that much randomness cannot be
reversed or guessed, so storing SHA-256 alone (no salt, no slow KDF) is
enough and keeps a lookup to one dict access. The Secret is re-read at most
once a second when an unknown token shows up, so a token made by `gitward
token create` works at once and a deleted one stops working within seconds,
while a client hammering with a bad token costs one GET per second.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import enum
import hashlib
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.kube import Connection, KubeError

log = structlog.get_logger(__name__)

SECRET_NAME = "gitward-server-tokens"  # noqa: S105 - a Secret's name, not a password
SECRET_LABEL = {"gitward.dev/secret-type": "server-tokens"}
ALL_PROJECTS = "*"
TOKEN_PREFIX = "gw_"  # noqa: S105 - marks a string as a gitward token (secret scanners)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_RELOAD_EVERY = 1.0
_KEEP_FOR = 10.0  # a known token is re-checked against the Secret this often (revocation)


class Role(enum.StrEnum):
    admin = "admin"
    read_only = "read-only"


class TokenError(ValueError):
    """A token cannot be made as asked (bad name, one of that name exists, ...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name (or "anonymous"), its role and the projects it covers."""

    name: str
    role: Role
    projects: frozenset[str]

    def can_read(self, project: str) -> bool:
        return ALL_PROJECTS in self.projects or project in self.projects

    def can_write(self, project: str) -> bool:
        return self.role is Role.admin and self.can_read(project)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record(role: Role, projects: Sequence[str], token: str) -> dict[str, Any]:
    """What the Secret holds for one token: never the token itself."""
    return {
        "sha256": digest(token),
        "role": str(role),
        "projects": sorted(set(projects)) or [ALL_PROJECTS],
        "createdAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _secret_path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    return f"{base}/{name}" if name else base


async def create_token(
    connection: Connection, namespace: str, name: str, role: Role, projects: Sequence[str]
) -> str:
    """Store a new token's hash under `name`; returns the token, which nothing keeps."""
    if not _NAME.match(name):
        raise TokenError(f"token name {name!r}: use lower-case letters, digits, '-' and '.'")
    token = new_token()
    value = base64.b64encode(json.dumps(record(role, projects, token)).encode()).decode()
    try:
        secret = await connection.request("GET", _secret_path(namespace, SECRET_NAME))
    except KubeError as problem:
        if not problem.not_found:
            raise
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET_NAME, "namespace": namespace, "labels": SECRET_LABEL},
            "type": "Opaque",
            "data": {name: value},
        }
        await connection.request("POST", _secret_path(namespace), body=body)
        return token
    if name in (secret.get("data") or {}):
        raise TokenError(f"a token named {name!r} exists; delete it first or choose another name")
    # The resourceVersion makes this refuse (409) if another token was added meanwhile.
    patch = {"metadata": {"resourceVersion": secret["metadata"]["resourceVersion"]}, "data": {name: value}}
    await connection.request(
        "PATCH",
        _secret_path(namespace, SECRET_NAME),
        body=patch,
        content_type="application/merge-patch+json",
    )
    return token


def parse_secret(secret: Mapping[str, Any]) -> dict[str, Principal]:
    """Principals by token hash; an unreadable entry is skipped (and logged by name only)."""
    found: dict[str, Principal] = {}
    for name, value in (secret.get("data") or {}).items():
        try:
            entry = json.loads(base64.b64decode(value))
            found[str(entry["sha256"])] = Principal(
                name, Role(entry["role"]), frozenset(str(p) for p in entry.get("projects") or [ALL_PROJECTS])
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable token entry skipped", token=name)
    return found


class TokenStore:
    """Looks tokens up in the Secret, re-reading it when a token is unknown or the copy is old."""

    def __init__(self, connection: Connection, namespace: str) -> None:
        self.connection = connection
        self.namespace = namespace
        self._known: dict[str, Principal] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def lookup(self, token: str) -> Principal | None:
        key = digest(token)
        age = time.monotonic() - self._loaded_at
        if age > _KEEP_FOR or (key not in self._known and age > _RELOAD_EVERY):
            await self._reload()
        return self._known.get(key)

    async def _reload(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at <= _RELOAD_EVERY:
                return  # another request reloaded while we waited
            try:
                secret = await self.connection.request("GET", _secret_path(self.namespace, SECRET_NAME))
            except KubeError as problem:
                if not problem.not_found:
                    log.warning("token secret unreadable", error=str(problem))
                    return  # keep what we had: a blip of the apiserver must not log everyone out
                secret = {}
            self._known = parse_secret(secret)
            self._loaded_at = time.monotonic()
