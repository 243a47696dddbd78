"""Leader election on a real Lease: one leader at a time, handover on exit and after a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gitward.controller.leader import LeaderElector, LeaseConfig
from gitward.kube.connection import Connection
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster


def fast(namespace: str) -> LeaseConfig:
    """Short timings so a test sees expiry and handover in seconds."""
    return LeaseConfig(namespace=namespace, duration=2.0, renew_every=0.3, renew_deadline=1.5)


async def test_two_replicas_never_lead_at_once_and_the_second_takes_over_on_exit(
    connection: Connection, namespace: str
) -> None:
    config = fast(namespace)
    first, second = LeaderElector(connection, config, "first"), LeaderElector(connection, config, "second")
    led: list[str] = []
    stop_first = asyncio.Event()

    async def lead_as(name: str, until: asyncio.Event) -> None:
        led.append(name)
        await until.wait()

    never = asyncio.Event()
    tasks = {
        "first": asyncio.create_task(first.run(lambda: lead_as("first", stop_first))),
        "second": asyncio.create_task(second.run(lambda: lead_as("second", never))),
    }
    both_seen = False
    for _ in range(60):  # three lease durations, sampled
        await asyncio.sleep(0.1)
        both_seen = both_seen or (first.is_leader and second.is_leader)
    assert not both_seen
    assert len(led) == 1, f"exactly one replica leads, got {led}"
    leader = led[0]

    if leader == "first":
        stop_first.set()
    else:
        tasks["second"].cancel()
    for _ in range(50):
        if len(led) == 2:
            break
        await asyncio.sleep(0.1)
    assert led[1] != leader, "the other replica takes over once the leader lets go"
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from gitward.controller.leader import LeaderElector, LeaseConfig
    from gitward.kube.connection import Connection

    async def main() -> None:
        async with Connection.from_kubeconfig(Path(sys.argv[1])) as conn:
            config = LeaseConfig(namespace=sys.argv[2], duration=2.0, renew_every=0.3, renew_deadline=1.5)

            async def lead() -> None:
                print("LEADING", flush=True)
                await asyncio.Event().wait()

            await LeaderElector(conn, config, "doomed").run(lead)

    asyncio.run(main())
    """
)


async def test_a_killed_leader_is_replaced_after_its_lease_expires(
    cluster: Cluster, connection: Connection, namespace: str, tmp_path: Path
) -> None:
    doomed = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(cluster.kubeconfig), namespace],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert doomed.stdout is not None
        stdout = doomed.stdout

        def wait_for_lead() -> bool:
            # The log goes to stdout too; the marker line is what matters.
            return any(line.strip() == "LEADING" for line in iter(stdout.readline, ""))

        assert await asyncio.wait_for(asyncio.to_thread(wait_for_lead), 30)
        survivor = LeaderElector(connection, fast(namespace), "survivor")
        took_over = asyncio.Event()

        async def lead() -> None:
            took_over.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(survivor.run(lead))
        await asyncio.sleep(0.5)
        assert not survivor.is_leader, "a live leader keeps its lease"
        os.kill(doomed.pid, signal.SIGKILL)  # no release: the lease must expire on its own
        await asyncio.wait_for(took_over.wait(), 15)
        lease = await connection.request(
            "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/gitward-controller"
        )
        assert lease["spec"]["holderIdentity"] == "survivor"
        assert lease["spec"]["leaseTransitions"] >= 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        doomed.kill()
        doomed.wait()
