"""Fixtures of the fault tests: a cluster of their own, whole again before each test.

The faults (an apiserver restart, etcd stopped, ...) hit `chaos_cluster`,
never the session-wide `cluster` the other test files share. Each test
leaves it running: `whole_cluster` starts whatever component a failed test
left stopped, so one failure does not cascade into the next test.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from gitward.local import cluster as local_cluster
from tests.conftest import PREFIX, _start
from tests.e2e.support import install_crds
from tests.helpers import Cluster


@pytest.fixture(scope="session")
def chaos_cluster() -> Iterator[Cluster]:
    # One node: kwok then has less to heartbeat while components are stopped and started.
    state = _start(f"{PREFIX}-chaos", nodes=1)
    yield Cluster(state)
    local_cluster.down(state.name)


@pytest.fixture
def whole_cluster(chaos_cluster: Cluster) -> Cluster:
    """`chaos_cluster` with every component running, and the CRDs installed."""
    for component in local_cluster.COMPONENTS:
        local_cluster.start_component(chaos_cluster.name, component)
    install_crds(chaos_cluster)
    return chaos_cluster


@pytest.fixture
def apps_namespace(whole_cluster: Cluster) -> Iterator[str]:
    """Where this test's Applications live (the controller's namespace)."""
    name = f"chaos-{secrets.token_hex(4)}"
    whole_cluster.kubectl("create", "namespace", name)
    yield name
    whole_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
