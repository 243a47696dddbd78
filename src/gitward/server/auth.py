"""Bearer tokens: made once, kept only as a SHA-256 hash in a Secret, each with a role and projects.

A token is 32 random bytes; a hash of that much randomness cannot be
reversed or guessed, so storing SHA-256 alone (no salt, no slow KDF) is
enough and keeps a lookup to one dict access. A watch follows the Secret, so
a token deleted by `gitward token delete` is refused as soon as the change
arrives; the Secret is also re-read at most once a second when an unknown
token shows up (one made a moment ago works at once, and a client hammering
with a bad token costs one GET per second), and every few seconds in case
the watch is down.
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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.kube import ApiResource, Connection, KubeError, Reflector, Store, Writer
from gitward.model.resource import ResourceKey

log = structlog.get_logger(__name__)

SECRET_NAME = "gitward-server-tokens"  # noqa: S105 - a Secret's name, not a password
SECRET_LABEL = {"gitward.dev/secret-type": "server-tokens"}
ALL_PROJECTS = "*"
TOKEN_PREFIX = "gw_"  # noqa: S105 - marks a string as a gitward token (secret scanners)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_RELOAD_EVERY = 1.0
_KEEP_FOR = 10.0  # a known token is re-checked against the Secret this often (if the watch is down)
_SECRETS = ApiResource("", "v1", "Secret", "secrets", True, frozenset({"get", "list", "watch"}))


class Role(enum.StrEnum):
    admin = "admin"
    read_only = "read-only"
    metrics = "metrics"  # /metrics only (a Prometheus scrape): no app of any project through the API


class TokenError(ValueError):
    """A token cannot be made as asked (bad name, one of that name exists, ...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name (or "anonymous"), its role and the projects it covers."""

    name: str
    role: Role
    projects: frozenset[str]

    def can_read(self, project: str) -> bool:
        if self.role is Role.metrics:
            return False
        return ALL_PROJECTS in self.projects or project in self.projects

    def can_read_metrics(self) -> bool:
        """/metrics names every app of every project: a token for all projects, or a metrics token."""
        return ALL_PROJECTS in self.projects

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
    if role is Role.metrics and set(projects) - {ALL_PROJECTS}:
        raise TokenError("a metrics token covers every project (/metrics lists them all): drop --project")
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
        await Writer(connection).create_at(_secret_path(namespace), body)
        return token
    if name in (secret.get("data") or {}):
        raise TokenError(f"a token named {name!r} exists; delete it first or choose another name")
    await _patch_entry(connection, secret, name, value)
    return token


async def _patch_entry(
    connection: Connection, secret: Mapping[str, Any], name: str, value: str | None
) -> None:
    """Set one token's entry (None: remove it, as a merge patch's null does).

    The resourceVersion makes this refuse (409) if another token was added or removed meanwhile.
    """
    metadata = secret["metadata"]
    patch = {"metadata": {"resourceVersion": metadata["resourceVersion"]}, "data": {name: value}}
    await Writer(connection).merge_patch_at(_secret_path(metadata["namespace"], SECRET_NAME), patch)


async def _token_secret(connection: Connection, namespace: str) -> dict[str, Any]:
    """The token Secret, or {} when no token was ever made."""
    try:
        found: dict[str, Any] = await connection.request("GET", _secret_path(namespace, SECRET_NAME))
    except KubeError as problem:
        if not problem.not_found:
            raise
        return {}
    return found


async def list_tokens(connection: Connection, namespace: str) -> list[dict[str, Any]]:
    """Each token's name, role, projects and creation time, by name: never the token or its hash."""
    secret = await _token_secret(connection, namespace)
    rows = []
    for name, value in sorted((secret.get("data") or {}).items()):
        try:
            entry = json.loads(base64.b64decode(value))
            projects = [str(p) for p in entry.get("projects") or [ALL_PROJECTS]]
            row: dict[str, Any] = {"role": str(entry["role"]), "projects": projects}
            row["created"] = entry.get("createdAt")
        except (ValueError, KeyError, TypeError):
            row = {"role": "unreadable", "projects": [], "created": None}
        rows.append({"name": name, **row})
    return rows


async def delete_token(connection: Connection, namespace: str, name: str) -> None:
    """Remove one token's entry; a running server refuses it as soon as its watch sees the change."""
    secret = await _token_secret(connection, namespace)
    if name not in (secret.get("data") or {}):
        raise TokenError(f"no token named {name!r} in namespace {namespace!r} (see `gitward token list`)")
    await _patch_entry(connection, secret, name, None)


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


def _version(secret: Mapping[str, Any]) -> int | None:
    """The resourceVersion as a number, to tell an older copy from a newer one (None: not a number)."""
    version = str((secret.get("metadata") or {}).get("resourceVersion") or "")
    return int(version) if version.isdigit() else None


class _TokenSecretWatch(Store):
    """Where a Reflector on the namespace's Secrets delivers: only the token Secret is passed on.

    Nothing is kept: the other Secrets (repository credentials) have no business in this store.
    """

    def __init__(self, changed: Callable[[Mapping[str, Any] | None], None]) -> None:
        super().__init__()
        self._changed = changed

    def upsert(self, obj: Mapping[str, Any]) -> None:
        if (obj.get("metadata") or {}).get("name") == SECRET_NAME:
            self._changed(obj)

    def remove(self, key: ResourceKey) -> None:
        if key.name == SECRET_NAME:
            self._changed(None)

    def replace_kind(self, group: str, kind: str, objects: Iterable[Mapping[str, Any]]) -> None:
        found = [o for o in objects if (o.get("metadata") or {}).get("name") == SECRET_NAME]
        self._changed(found[0] if found else None)


class TokenStore:
    """Looks tokens up in the Secret, kept by a watch and re-read when a token is unknown or the copy old."""

    def __init__(self, connection: Connection, namespace: str) -> None:
        self.connection = connection
        self.namespace = namespace
        self._known: dict[str, Principal] = {}
        self._version = -1  # of the copy in _known: a GET answered late must not undo a newer change
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._reflector: Reflector | None = None

    def start(self) -> None:
        """Follow the Secret through a watch, so a deleted token is refused at once."""
        if self._reflector is None:
            store = _TokenSecretWatch(self._watched)
            self._reflector = Reflector(self.connection, _SECRETS, store, namespace=self.namespace)
            self._reflector.start()

    async def aclose(self) -> None:
        if self._reflector is not None:
            await self._reflector.stop()
            self._reflector = None

    def _watched(self, secret: Mapping[str, Any] | None) -> None:
        # The watch delivers changes in order: each one replaces the table.
        self._known = parse_secret(secret or {})
        self._version = (_version(secret) if secret is not None else None) or self._version
        self._loaded_at = time.monotonic()

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
            self._loaded_at = time.monotonic()
            version = _version(secret) if secret else None
            if version is not None and version <= self._version:
                return  # the watch has delivered this copy or a newer one (a deletion, perhaps)
            self._known = parse_secret(secret)
            if version is not None:
                self._version = version
