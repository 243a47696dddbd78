"""Git going away never costs the cluster anything.

The repository is served over HTTP with basic auth (the password in a
labelled repository Secret) behind a TCP path the test can cut and restore on
the same port: a network outage, as the controller sees one. While it lasts
the app keeps what it deployed, says why in a condition that carries no
credentials, and recovers by itself when the server is back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.local.gitserver import free_port
from tests.e2e.support import (
    CONFIG,
    DEPLOYMENT,
    app_status,
    application,
    condition,
    live,
    request_sync,
    until,
)
from tests.helpers import Cluster
from tests.source.servers import Upstream, http_git_server

pytestmark = pytest.mark.cluster


class Link:
    """A TCP forwarder on a fixed port that can be cut (connections refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._open |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()
                self._open.discard(sink)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
def private_repo(tmp_path: Path) -> Iterator[tuple[Upstream, int, str, str]]:
    """`shop` behind basic auth: (upstream, server port, username, password)."""
    served = tmp_path / "private"
    served.mkdir()
    upstream = Upstream(served / "shop")
    upstream.commit(
        {"deploy/config.yaml": CONFIG.format(colour="blue"), "deploy/web.yaml": DEPLOYMENT.format(replicas=2)}
    )
    with http_git_server(served) as (prefix, username, password):
        yield upstream, int(prefix.rsplit(":", 1)[1]), username, password


@asynccontextmanager
async def linked(port: int) -> AsyncIterator[Link]:
    link = Link(port)
    await link.up()
    try:
        yield link
    finally:
        await link.down()


async def test_an_unreachable_server_keeps_the_last_good_state(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    private_repo: tuple[Upstream, int, str, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    upstream, port, username, password = private_repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    async with linked(port) as link:
        url = f"http://127.0.0.1:{link.port}/shop"
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "shop-repo",
                "namespace": namespace,
                "labels": {"gitward.dev/secret-type": "repository"},
            },
            "data": {
                key: base64.b64encode(value.encode()).decode()
                for key, value in {"url": url, "username": username, "password": password}.items()
            },
        }
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(secret))
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))

        def revision() -> str | None:
            sync = app_status(cluster, namespace, "shop").get("sync") or {}
            return sync.get("revision") if sync.get("status") == "Synced" else None

        first = upstream.head()
        await until(lambda: revision() == first, what="the first sync")

        # The server drops off the network; meanwhile Git moves on, and drops a file.
        await link.down()
        (upstream.path / "deploy" / "config.yaml").unlink()
        second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)}, "drop the config")
        found = await until(
            lambda: condition(app_status(cluster, namespace, "shop"), "ComparisonError"),
            what="a ComparisonError while the server is away",
        )
        assert f"cannot reach {url}" in found["message"]
        status = app_status(cluster, namespace, "shop")
        assert status["sync"]["revision"] == first
        assert (live(cluster, "deployment", "web", target) or {})["spec"]["replicas"] == 2
        assert live(cluster, "configmap", "settings", target) is not None, "nothing is pruned"
        app_text = cluster.kubectl("get", "applications.gitward.dev", "shop", "-n", namespace, "-o", "json")
        events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json")
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        logged = "".join(capfd.readouterr())
        assert "cannot reach" in logged, "the controller's log says what failed"
        for text in (app_text, events, logged):
            assert password not in text
            assert encoded not in text
        assert "ComparisonError" in events

        # Back on the network: the commit made meanwhile is synced and the condition goes.
        await link.up()
        await until(lambda: revision() == second, timeout=90, what="recovery after the outage")
        assert condition(app_status(cluster, namespace, "shop"), "ComparisonError") is None
        assert (live(cluster, "deployment", "web", target) or {})["spec"]["replicas"] == 3
        assert live(cluster, "configmap", "settings", target) is None


async def test_a_force_push_that_drops_the_deployed_commit_waits_for_a_person(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))

    def synced_at() -> str | None:
        sync = app_status(cluster, namespace, "shop").get("sync") or {}
        return sync.get("revision") if sync.get("status") == "Synced" else None

    def replicas() -> int | None:
        found = live(cluster, "deployment", "web", target)
        return found["spec"]["replicas"] if found else None

    await until(lambda: synced_at() == upstream.head(), what="the first sync")
    deployed = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    await until(lambda: synced_at() == deployed, what="the second commit synced")

    # An old branch force-pushed over main: the deployed commit is gone from its history, and
    # so is the ConfigMap. Automation must not roll the cluster back on its own.
    upstream.rewrite({"deploy/web.yaml": DEPLOYMENT.format(replicas=5)})
    (upstream.path / "deploy" / "config.yaml").unlink()
    rewritten = upstream.commit({}, "drop the config")

    def held_at_head() -> dict[str, Any] | None:
        # A poll may land between the push's two commits: wait for the pass that saw both.
        status = app_status(cluster, namespace, "shop")
        at_head = (status.get("sync") or {}).get("revision") == rewritten
        return status if at_head and condition(status, "SyncError") else None

    status = await until(held_at_head, what="a condition about the rewritten history")
    held = condition(status, "SyncError") or {}
    assert deployed[:12] in held["message"] and "main" in held["message"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["history"][-1]["revision"] == deployed
    assert replicas() == 3
    assert live(cluster, "configmap", "settings", target) is not None, "nothing is pruned"

    # A person accepts the new history with a sync; automation follows it from there.
    request_sync(cluster, namespace, "shop")
    await until(lambda: synced_at() == rewritten, what="the requested sync of the new history")
    assert replicas() == 5
    assert live(cluster, "configmap", "settings", target) is None
    assert condition(app_status(cluster, namespace, "shop"), "SyncError") is None
    following = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=6)})
    await until(lambda: synced_at() == following, what="automation to follow the accepted history")
    assert replicas() == 6
