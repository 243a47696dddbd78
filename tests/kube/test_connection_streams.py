"""Quiet watches must never hold up other requests on the same connection."""

from __future__ import annotations

import asyncio

import pytest

from gitward.kube import Discovery, WatchCache, Writer
from gitward.kube.connection import Connection

pytestmark = pytest.mark.cluster


async def test_applies_are_answered_while_watches_are_open(connection: Connection, namespace: str) -> None:
    discovery = Discovery(connection)
    cache = WatchCache(connection, discovery)
    writer = Writer(connection, discovery)
    try:
        await cache.ensure_all([("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service")])
        for n in range(5):
            desired = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"probe-{n}", "namespace": namespace},
                "data": {"n": str(n)},
            }
            # Hang detection, not a timing figure: on one shared HTTP/2 connection these
            # waited behind a quiet watch holding the connection's read lock.
            predicted = await asyncio.wait_for(writer.apply(desired, force=True, dry_run=True), 20)
            assert predicted["data"] == {"n": str(n)}
    finally:
        await cache.aclose()
