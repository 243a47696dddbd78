"""Fixtures of the API server tests: `gitward server` on a real socket, against the real local cluster."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gitward.kube import Connection
from gitward.local import toolchain
from gitward.render import Tools
from gitward.server.app import create_app
from gitward.server.state import ServerSettings

# The end-to-end fixtures (a Git server with the shop app, a running controller), shared as they are.
from tests.e2e.conftest import controller, repo, slow_poll  # noqa: F401
from tests.e2e.support import install_crds
from tests.helpers import Cluster

Serve = Callable[..., AbstractAsyncContextManager[str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(cluster: Cluster, namespace: str, tmp_path: Path) -> Serve:
    """`async with serve(**settings) as url`: a server for `namespace`, ready (apps listed) on entry."""
    install_crds(cluster)

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[str]:
        values: dict[str, Any] = {
            "namespace": namespace,
            "tools": Tools(helm=str(toolchain.find("helm")), kustomize=str(toolchain.find("kustomize"))),
            "git_cache": tmp_path / "server-git",
        }
        values.update(overrides)
        app = create_app(lambda: Connection.from_kubeconfig(cluster.kubeconfig), ServerSettings(**values))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=3)
        )
        task = asyncio.create_task(server.serve())
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
                for _ in range(300):
                    if task.done():
                        task.result()
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the server never became ready")
            yield url
        finally:
            server.should_exit = True
            await asyncio.gather(task, return_exceptions=True)

    return running


def client(url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=url, headers=headers, trust_env=False, timeout=30.0)


async def until_async(
    check: Callable[[], Awaitable[object]], timeout: float = 60.0, what: str = "condition"
) -> None:
    """Await `check()` until it is truthy: for checks that are themselves requests to the API."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
