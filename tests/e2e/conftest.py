"""Fixtures of the end-to-end tests: a real Git server with an example app, and a running controller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gitward.controller.run import Controller
from gitward.controller.triggers import PollPolicy
from gitward.kube.connection import Connection
from tests.e2e.support import CONFIG, DEPLOYMENT, install_crds, settings
from tests.helpers import Cluster
from tests.source.servers import Upstream, git_daemon


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[str, Upstream]]:
    """`shop`, served by git daemon: deploy/config.yaml (a ConfigMap) and deploy/web.yaml (a Deployment)."""
    served = tmp_path / "served"
    served.mkdir()
    upstream = Upstream(served / "shop")
    upstream.commit(
        {"deploy/config.yaml": CONFIG.format(colour="blue"), "deploy/web.yaml": DEPLOYMENT.format(replicas=2)}
    )
    with git_daemon(served) as prefix:
        yield f"{prefix}/shop", upstream


@pytest.fixture
async def controller(
    cluster: Cluster, connection: Connection, namespace: str, tmp_path: Path
) -> AsyncIterator[Controller]:
    """A controller serving Applications in `namespace`, running in this event loop."""
    install_crds(cluster)
    running = Controller(connection, settings(namespace, tmp_path))
    task = asyncio.create_task(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def slow_poll(
    cluster: Cluster, connection: Connection, namespace: str, tmp_path: Path
) -> AsyncIterator[Controller]:
    """A controller that would not look at Git again for ten minutes on its own: only the
    trigger under test (a refresh, a project or ConfigMap change, a window's end) can wake an app."""
    install_crds(cluster)
    running = Controller(
        connection, settings(namespace, tmp_path, poll=PollPolicy(interval=600.0, jitter=0.0))
    )
    task = asyncio.create_task(running.run())
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
