"""etcd stopped for 30 seconds in the middle of a sync, then started again.

The apiserver stays up but can neither read nor write; the controller (a
real process) is syncing revision 2, its PreSync hook waiting. After etcd is
back the sync must finish with every change written once, nothing else
touched, and a status that never ran ahead of the cluster.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitward.local import cluster as local_cluster
from tests.chaos.scenario import GatedSync, check_recovered, sync_held_at_hook
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster

OUTAGE = 30.0


def test_a_sync_survives_etcd_stopped_for_30_seconds(
    whole_cluster: Cluster, apps_namespace: str, tmp_path: Path
) -> None:
    cluster = whole_cluster
    scenario = GatedSync.prepare(cluster, apps_namespace, tmp_path / "served")
    with sync_held_at_hook(scenario, tmp_path / "controller") as observed:
        controller, audit, log = observed.controller, observed.audit, observed.log

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
