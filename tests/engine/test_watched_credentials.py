"""Repository credentials kept by a watch: no request per reconcile, and a changed Secret is seen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from gitward.engine.repo_credentials import WatchedCredentials, match
from gitward.kube import Discovery
from gitward.kube.connection import Connection
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

URL = "https://git.example/org/app"


def put_secret(cluster: Cluster, namespace: str, password: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "repo", "labels": {"gitward.dev/secret-type": "repository"}},
        "stringData": {"url": URL, "username": "me", "password": password},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(secret))


async def settles(read: Callable[[], Awaitable[str | None]], expected: str | None) -> None:
    for _ in range(100):
        if await read() == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never saw {expected!r} (last: {await read()!r})")


async def test_credentials_follow_their_secrets_without_listing_again(
    cluster: Cluster, namespace: str, connection: Connection
) -> None:
    put_secret(cluster, namespace, "one")
    cluster.kubectl("create", "secret", "generic", "unrelated", "-n", namespace, "--from-literal=x=y")
    watched = WatchedCredentials(connection, Discovery(connection), namespace)

    async def password() -> str | None:
        known, _ = await watched.load()
        found = match(known, URL + ".git")
        return found.credentials.password if found else None

    try:
        known, problems = await watched.load()
        assert problems == [] and [k.origin for k in known] == [f"{namespace}/repo"]
        assert await password() == "one"

        # Served from the watch: loading again costs no request.
        before = dict(connection.requests)
        for _ in range(20):
            await watched.load()
        assert connection.requests == before

        put_secret(cluster, namespace, "two")
        await settles(password, "two")
        cluster.kubectl("delete", "secret", "repo", "-n", namespace)
        await settles(password, None)
    finally:
        await watched.aclose()
