"""The kube-apiserver restarted in the middle of a sync.

The controller (a real process) is syncing revision 2, its PreSync hook
waiting, when the apiserver is stopped; once the controller has noticed
(its watches fail), the apiserver is started again. The sync must then
finish as if nothing had happened: the hook run once, each change written
once, nothing else touched, and the status never ahead of the cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.local import cluster as local_cluster
from tests.chaos.scenario import GatedSync, check_recovered, sync_held_at_hook
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster


def test_a_sync_survives_an_apiserver_restart(
    whole_cluster: Cluster, apps_namespace: str, tmp_path: Path
) -> None:
    cluster = whole_cluster
    scenario = GatedSync.prepare(cluster, apps_namespace, tmp_path / "served")
    with sync_held_at_hook(scenario, tmp_path / "controller") as observed:
        controller, audit, log = observed.controller, observed.audit, observed.log

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
