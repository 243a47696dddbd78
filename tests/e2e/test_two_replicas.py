"""Two `gitward controller` replicas on one cluster: one leads and acts, the other waits.

Both are real processes with leader election on (the default). The one
holding the Lease syncs; the standby never starts its workers. When the
leader is killed with SIGKILL (so it cannot hand the Lease back), the
standby takes over once the Lease expires, and syncs the next commit.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ControllerProcess, controller_process
from tests.e2e.support import DEPLOYMENT, app_status, application, install_crds, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


@pytest.fixture
def replicas(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[dict[str, ControllerProcess]]:
    """Two controllers for `namespace`, leader election on, each with its own cache folder and log."""
    install_crds(cluster)
    with (
        controller_process(cluster, namespace, tmp_path / "one") as one,
        controller_process(cluster, namespace, tmp_path / "two") as two,
    ):
        yield {"one": one, "two": two}


def lease_holder(cluster: Cluster, namespace: str) -> str | None:
    found = cluster.kubectl(
        "get", "lease", "gitward-controller", "-n", namespace, "--ignore-not-found", "-o", "json"
    )
    return json.loads(found)["spec"].get("holderIdentity") if found.strip() else None


async def test_one_leader_acts_and_the_standby_takes_over_after_a_kill(
    cluster: Cluster, namespace: str, repo: tuple[str, Upstream], replicas: dict[str, ControllerProcess]
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))

    def synced_at(revision: str) -> bool:
        sync = app_status(cluster, namespace, "shop").get("sync") or {}
        return sync.get("status") == "Synced" and sync.get("revision") == revision

    def deployed_replicas() -> int | None:
        found = live(cluster, "deployment", "web", target)
        return found["spec"]["replicas"] if found else None

    def leader() -> tuple[str, ControllerProcess] | None:
        holder = lease_holder(cluster, namespace)
        return next(((n, r) for n, r in replicas.items() if holder and r.identity() == holder), None)

    await until(lambda: synced_at(upstream.head()), what="the first sync")
    name, acting = await until(leader, what="the Lease held by one of the replicas")
    (standby_name, standby) = next((n, r) for n, r in replicas.items() if n != name)

    # While the leader lives the standby only campaigns, even as Git moves on.
    second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    await until(lambda: synced_at(second), what="the leader to sync a commit")
    assert deployed_replicas() == 3
    assert acting.working()
    assert acting.reconciles() > 0
    assert standby.alive(), f"standby {standby_name} exited:\n{standby.text()}"
    assert not standby.working(), f"standby {standby_name} started work while {name} leads"
    assert standby.reconciles() == 0
    assert standby.identity() is None
    assert lease_holder(cluster, namespace) == acting.identity()

    # SIGKILL: no hand-back, so the Lease has to expire before the standby may lead.
    os.kill(acting.process.pid, signal.SIGKILL)
    acting.process.wait()
    third = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=4)})
    await until(
        lambda: standby.identity() is not None or not standby.alive(),
        timeout=60,
        what="the standby to take the Lease",
    )
    assert standby.alive(), f"standby {standby_name} exited:\n{standby.text()}"
    assert lease_holder(cluster, namespace) == standby.identity()
    await until(lambda: synced_at(third), what="the new leader to sync the next commit")
    assert deployed_replicas() == 4
    assert standby.working()
    assert standby.reconciles() > 0
