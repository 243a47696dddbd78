"""etcd stopped for 30 seconds in the middle of a sync, then started again.

The apiserver stays up but can neither read nor write; the controller (a
real process) is syncing revision 2, its PreSync hook waiting. After etcd is
back the sync must finish with every change written once, nothing else
touched, and a status that never ran ahead of the cluster.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from gitward.local import cluster as local_cluster
from tests.chaos.observe import Audit, StatusLog
from tests.chaos.scenario import GatedSync, check_recovered
from tests.e2e.processes import controller_process
from tests.helpers import Cluster, eventually
from tests.source.servers import Upstream, git_daemon

pytestmark = pytest.mark.cluster

OUTAGE = 30.0


def test_a_sync_survives_etcd_stopped_for_30_seconds(
    whole_cluster: Cluster, apps_namespace: str, tmp_path: Path
) -> None:
    cluster = whole_cluster
    served = tmp_path / "served"
    served.mkdir()
    scenario = GatedSync.prepare(cluster, apps_namespace, Upstream(served / "shop"))
    with contextlib.ExitStack() as stack:
        url = f"{stack.enter_context(git_daemon(served))}/shop"
        stack.callback(scenario.close_gate)
        controller = stack.enter_context(
            controller_process(cluster, apps_namespace, tmp_path / "controller", "--no-leader-elect")
        )
        scenario.create_apps(url)
        scenario.synced_at(scenario.first)
        scenario.synced_at(scenario.first, name="steady")
        audit = stack.enter_context(Audit(cluster, scenario.target))
        log = stack.enter_context(StatusLog(cluster, apps_namespace, "shop"))
        scenario.push_second()
        scenario.hook_waiting()

        local_cluster.stop_component(cluster.name, "etcd")
        stopped = time.monotonic()
        eventually(
            lambda: not local_cluster.api_ready(cluster.state.layout), what="the apiserver to lose etcd"
        )
        # The outage itself is the input of this test, not a wait for something: it lasts 30 s.
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
        assert controller.alive(), "the controller rode out 30 s without etcd"
        local_cluster.start_component(cluster.name, "etcd")
        eventually(lambda: local_cluster.api_ready(cluster.state.layout), what="the apiserver back on etcd")

        scenario.open_gate()
        check_recovered(scenario, audit, log)
        assert controller.alive()
