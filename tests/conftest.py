"""Fixtures for tests against real local clusters.

`cluster` is one control plane shared by the whole session; `cluster2` and
`cluster3` start only when a test asks for them (multi-cluster tests).
`namespace` gives each test a fresh namespace in `cluster`.

A missing toolchain fails these tests loudly; it never skips them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from gitward.kube.connection import Connection
from gitward.local import cluster as local_cluster
from gitward.local import toolchain
from gitward.local.state import ClusterState
from tests.helpers import Cluster


def _start(name: str, nodes: int = 2) -> ClusterState:
    missing = toolchain.missing(toolchain.CLUSTER_TOOLS)
    if missing:
        pytest.fail(
            "the local toolchain is not built ("
            + ", ".join(t.name for t in missing)
            + "); run `make toolchain` or `gitward local toolchain --build`",
            pytrace=False,
        )
    return local_cluster.up(name, nodes=nodes, build=False)


# Two test runs on one machine (a developer's and a helper's) must not share
# clusters: set GITWARD_TEST_PREFIX to keep them apart. The names are fixed
# otherwise, so the next run finds and cleans what a killed run left.
PREFIX = os.environ.get("GITWARD_TEST_PREFIX", "pytest")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    state = _start(f"{PREFIX}-main")
    yield Cluster(state)
    local_cluster.down(state.name)


@pytest.fixture(scope="session")
def cluster2() -> Iterator[Cluster]:
    state = _start(f"{PREFIX}-second")
    yield Cluster(state)
    local_cluster.down(state.name)


@pytest.fixture(scope="session")
def cluster3() -> Iterator[Cluster]:
    state = _start(f"{PREFIX}-third")
    yield Cluster(state)
    local_cluster.down(state.name)


@pytest.fixture
async def connection(cluster: Cluster) -> AsyncIterator[Connection]:
    """gitward's own cluster connection to the session cluster."""
    async with Connection.from_kubeconfig(cluster.kubeconfig) as conn:
        yield conn


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{secrets.token_hex(4)}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def cluster_name() -> Iterator[str]:
    """A name for a throwaway cluster; whatever a test leaves under it is removed."""
    name = f"{PREFIX}-{secrets.token_hex(3)}"
    yield name
    local_cluster.down(name)


# The fixtures that start (or tear down) a real control plane. A test that uses one, directly or
# through another fixture, must say so with the `cluster` marker: `make unit` (`-m "not cluster"`)
# relies on it to run in seconds, without a cluster.
CLUSTER_FIXTURES = frozenset({"cluster", "cluster2", "cluster3", "chaos_cluster", "cluster_name"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("cluster") is None
    ]
    if unmarked:
        listed = "\n  ".join(unmarked[:20])
        raise pytest.UsageError(f"these tests start a cluster but lack `pytest.mark.cluster`:\n  {listed}")
