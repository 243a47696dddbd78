"""The kube-apiserver restarted in the middle of a sync.

The controller (a real process) is syncing revision 2, its PreSync hook
waiting, when the apiserver is stopped; once the controller has noticed
(its watches fail), the apiserver is started again. The sync must then
finish as if nothing had happened: the hook run once, each change written
once, nothing else touched, and the status never ahead of the cluster.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from gitward.local import cluster as local_cluster
from tests.chaos.observe import Audit, StatusLog
from tests.chaos.scenario import GatedSync, check_recovered
from tests.e2e.processes import controller_process
from tests.helpers import Cluster, eventually
from tests.source.servers import Upstream, git_daemon

pytestmark = pytest.mark.cluster


def test_a_sync_survives_an_apiserver_restart(
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

        local_cluster.stop_component(cluster.name, "kube-apiserver")
        noticed = controller.text().count("watch failed")
        eventually(
            lambda: controller.text().count("watch failed") > noticed,
            what="the controller to find the apiserver gone",
        )
        local_cluster.start_component(cluster.name, "kube-apiserver")
        assert controller.alive(), "the controller rode out the apiserver's absence"

        scenario.open_gate()
        check_recovered(scenario, audit, log)
        assert log.unreadable(), "the status log ran through the outage"
        assert controller.alive()
