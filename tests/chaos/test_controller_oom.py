"""The controller run out of memory in the middle of a sync, killed by the kernel, and restarted.

The controller (a real process) runs in a memory cgroup of its own, as a
Pod with a memory limit does. While it syncs revision 2, its PreSync hook
waiting, the limit is set a little above what it uses, and the cluster
grows by ConfigMaps of ~900 KiB in a namespace no app uses: the controller
caches every ConfigMap it watches, goes over its limit and the kernel's
OOM killer ends it with SIGKILL. A supervisor (Kubernetes) would start it
again; the test does, without the limit, and the new process must finish
the same sync: the hook run once, each change written once.

Where no memory cgroup can be made, SIGKILL (what the OOM killer sends)
stands in for the kernel, and the test says so with a warning.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import string
import warnings
from pathlib import Path

import pytest

from tests.chaos.memory import memory_cgroup
from tests.chaos.scenario import GatedSync, check_recovered, sync_held_at_hook
from tests.e2e.processes import ControllerProcess, controller_process
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

HEADROOM = 48 * 1024 * 1024  # what the controller may still allocate once the limit is set
BALLAST = 900 * 1024  # bytes of data in each ConfigMap (the apiserver takes up to 1 MiB)
MOST_BALLAST = 200  # ~180 MiB: far past the headroom, still small for etcd


def grow_until_dead(cluster: Cluster, namespace: str, controller: ControllerProcess) -> int:
    """Add big ConfigMaps until the controller has died; how many it took."""
    data = "".join(secrets.choice(string.ascii_letters) for _ in range(64)) * (BALLAST // 64)
    with cluster.http() as client:
        for count in range(MOST_BALLAST):
            if not controller.alive():
                return count
            body = {"metadata": {"name": f"ballast-{count}"}, "data": {"blob": data}}
            reply = client.post(f"/api/v1/namespaces/{namespace}/configmaps", json=body, timeout=30)
            assert reply.status_code == 201, reply.text[:200]
    raise AssertionError(f"the controller outlived {MOST_BALLAST} ConfigMaps of {BALLAST} bytes")


def test_a_controller_killed_for_memory_mid_sync_finishes_it_after_a_restart(
    whole_cluster: Cluster, apps_namespace: str, tmp_path: Path
) -> None:
    cluster = whole_cluster
    scenario = GatedSync.prepare(cluster, apps_namespace, tmp_path / "served")
    ballast = f"chaos-ballast-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", ballast)
    with (
        memory_cgroup() as cgroup,
        contextlib.ExitStack() as stack,
    ):
        stack.callback(cluster.kubectl, "delete", "namespace", ballast, "--wait=false", check=False)
        launcher = cgroup.launcher() if cgroup is not None else []
        observed = stack.enter_context(sync_held_at_hook(scenario, tmp_path / "first", launcher))
        first = observed.controller

        if cgroup is None:
            warnings.warn(
                "no memory cgroup could be made here: SIGKILL stands in for the OOM killer", stacklevel=1
            )
            first.process.send_signal(signal.SIGKILL)
        else:
            cgroup.limit(cgroup.usage() + HEADROOM)
            grow_until_dead(cluster, ballast, first)
        assert first.process.wait(timeout=60) == -signal.SIGKILL
        if cgroup is not None:
            assert cgroup.oom_kills() >= 1, "the kernel's OOM killer ended it"
        state = scenario.status()["operationState"]
        assert state["phase"] == "Running", "the record of the interrupted sync survives the kill"

        # The supervisor's restart: the same controller, without the limit.
        second = stack.enter_context(
            controller_process(cluster, apps_namespace, tmp_path / "second", "--no-leader-elect")
        )
        scenario.open_gate()
        check_recovered(scenario, observed.audit, observed.log)
        assert second.alive()
