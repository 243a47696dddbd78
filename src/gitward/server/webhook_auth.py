"""Is a webhook request from the Git host? Each provider's signature or token, against a Secret.

The secrets live in the Secret `gitward-webhook` of the server's namespace:
`github.secret`, `gitlab.secret`, `gitea.secret`, `gogs.secret` (the hex
HMAC-SHA256 in `X-Gogs-Signature`), `bitbucketserver.secret` (Bitbucket
Server signs as `X-Hub-Signature: sha256=...`), and for Bitbucket Cloud
`bitbucket.secret` (its webhook secret, an HMAC-SHA256 signature in
`X-Hub-Signature`) or, as Argo CD does, `bitbucket.uuid` (the webhook's UUID,
sent in `X-Hook-UUID`; weaker, since anyone who saw one delivery knows it).
A provider without a configured secret is refused: an unauthenticated
endpoint that writes to Applications would let anyone cause refresh storms.
Values are never logged or echoed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

import structlog

from gitward.kube import Connection, KubeError
from gitward.server.webhook_payloads import Provider

log = structlog.get_logger(__name__)

SECRET_NAME = "gitward-webhook"  # noqa: S105 - a Secret's name, not a password
_KEEP_FOR = 10.0  # the Secret is re-read this often, so a rotated secret takes effect
_RECHECK_AFTER = 1.0  # a failed check re-reads a copy at least this old once before refusing


class Unauthorized(Exception):
    """Why a request is refused (401); never quotes a secret or a signature."""


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check(
    provider: Provider, headers: Mapping[str, str], body: bytes | None, secrets: Mapping[str, str]
) -> None:
    """Raise Unauthorized unless the request carries the provider's valid signature or token.

    With `body` None, only what the headers alone can tell is checked (a token,
    a configured secret, a signature header of the right form), so a request
    that can never pass is refused before a byte of its body is read.
    """
    key = f"{provider}.secret"
    if provider is Provider.github:
        _signed(secrets.get(key), headers.get("x-hub-signature-256"), body, "X-Hub-Signature-256", key)
    elif provider in (Provider.gitea, Provider.gogs):
        name = "X-Gitea-Signature" if provider is Provider.gitea else "X-Gogs-Signature"
        signature = headers.get(name.lower())
        _signed(secrets.get(key), f"sha256={signature}" if signature else None, body, name, key)
    elif provider is Provider.bitbucketserver:
        _signed(secrets.get(key), headers.get("x-hub-signature"), body, "X-Hub-Signature", key)
    elif provider is Provider.gitlab:
        secret = _configured(secrets.get(key), key)
        token = headers.get("x-gitlab-token")
        if not token:
            raise Unauthorized("missing X-Gitlab-Token")
        if not _equal(token, secret):
            raise Unauthorized("X-Gitlab-Token does not match gitlab.secret")
    else:
        if secrets.get(key):
            _signed(secrets.get(key), headers.get("x-hub-signature"), body, "X-Hub-Signature", key)
            return
        uuid = _configured(secrets.get("bitbucket.uuid"), "bitbucket.secret or bitbucket.uuid")
        given = headers.get("x-hook-uuid")
        if not given:
            raise Unauthorized("missing X-Hook-UUID")
        if not _equal(given.strip().strip("{}").lower(), uuid.strip().strip("{}").lower()):
            raise Unauthorized("X-Hook-UUID does not match bitbucket.uuid")


def _configured(secret: str | None, key: str) -> str:
    if not secret:
        raise Unauthorized(f"no {key} in Secret {SECRET_NAME}: webhooks from this provider are refused")
    return secret


def _signed(secret: str | None, header: str | None, body: bytes | None, name: str, key: str) -> None:
    expected = _configured(secret, key)
    if not header:
        raise Unauthorized(f"missing {name}")
    algorithm, _, digest = header.strip().partition("=")
    if algorithm != "sha256" or not digest:
        raise Unauthorized(f"{name} is not an HMAC-SHA256 signature")
    if body is None:
        return  # the digest is checked once the body is in
    if not _equal(digest.lower(), _hmac_hex(expected, body)):
        raise Unauthorized(f"{name} does not match the payload signed with {key}")


class WebhookSecrets:
    """The Secret's values, re-read every few seconds (and once more before a refusal)."""

    def __init__(self, connection: Connection, namespace: str) -> None:
        self.connection = connection
        self.namespace = namespace
        self._values: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, provider: Provider, headers: Mapping[str, str], body: bytes | None) -> None:
        """Raise Unauthorized unless the request is the provider's (body None: its headers only)."""
        if time.monotonic() - self._loaded_at > _KEEP_FOR:
            await self._reload(_KEEP_FOR)
        try:
            check(provider, headers, body, self._values)
        except Unauthorized:
            # A secret rotated a moment ago must not be refused for ten seconds.
            if time.monotonic() - self._loaded_at <= _RECHECK_AFTER:
                raise
            await self._reload(_RECHECK_AFTER)
            check(provider, headers, body, self._values)

    async def _reload(self, older_than: float) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at <= older_than:
                return  # another request reloaded while we waited
            path = f"/api/v1/namespaces/{self.namespace}/secrets/{SECRET_NAME}"
            try:
                secret = await self.connection.request("GET", path)
            except KubeError as problem:
                if not problem.not_found:
                    log.warning("webhook secret unreadable", secret=SECRET_NAME, error=str(problem))
                    return  # keep what we had
                secret = {}
            values: dict[str, str] = {}
            for name, value in ((secret or {}).get("data") or {}).items():
                try:
                    values[str(name)] = base64.b64decode(value).decode().strip()
                except (ValueError, UnicodeDecodeError):
                    log.warning("unreadable webhook secret entry skipped", key=name)
            self._values = values
            self._loaded_at = time.monotonic()
