"""Finding 4: a spec could freeze the controller's event loop.

- An `ignoreDifferences` jq expression (`last(range(1e12))`) ran in the
  controller's thread, in C, with no time limit: lease renewal and every other
  app waited for it.
- Directory include/exclude globs were turned into backtracking regexes:
  `*a*a*a*a*a*ab` over a long file name held the GIL for over a minute.
- An invalid glob (`[z-a]`) escaped as a traceback instead of an error naming
  the field.

Each attack is an Application a tenant applies. While it is processed, the
controller (running in this test's event loop) must keep serving: a
bystander's drift is healed within 2 s, and the loop itself never stalls
(a probe measures how late its own wake-ups are; the Lease is renewed by a
coroutine on that same loop).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gitward.controller.leader import LeaderElector, LeaseConfig
from gitward.controller.run import Controller
from gitward.engine.diff import jq_runner
from gitward.engine.diff.jq_runner import JqRunner
from gitward.kube.connection import Connection
from tests.e2e.support import app_status, application, condition, live, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

# The longest the loop may be late to wake a sleeper while an attack runs: a frozen loop is late by
# the attack's whole length (the jq deadline, or minutes of backtracking); a busy 2-core machine
# shared with other jobs, by a few hundred milliseconds.
MAX_LAG = 1.0
JQ_DEADLINE = 6.0


@dataclass
class LoopProbe:
    """Wakes every 50 ms and records how late each wake-up was."""

    worst: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(0.05)
            self.worst = max(self.worst, time.monotonic() - asked - 0.05)


@pytest.fixture
async def probe() -> AsyncIterator[LoopProbe]:
    found = LoopProbe()
    found.task = asyncio.create_task(found._run())
    yield found
    found.task.cancel()
    await asyncio.gather(found.task, return_exceptions=True)


@dataclass
class LeaseWatch:
    """A leader elector on the controller's loop, renewing every 0.5 s, and the renewals the cluster saw."""

    elector: LeaderElector
    renewals: list[dt.datetime] = field(default_factory=list)

    def widest_gap(self) -> float:
        """The longest time between two renewals seen, in seconds (a frozen loop: the freeze)."""
        times = sorted(set(self.renewals))
        return max((b - a).total_seconds() for a, b in itertools.pairwise(times))


@pytest.fixture
async def lease(cluster: Cluster, connection: Connection, namespace: str) -> AsyncIterator[LeaseWatch]:
    config = LeaseConfig(namespace=namespace, name="freeze-probe", duration=3.0, renew_every=0.5)
    watch = LeaseWatch(LeaderElector(connection, config))

    async def lead() -> None:
        await asyncio.Event().wait()

    leading = asyncio.create_task(watch.elector.run(lead))

    def renewed() -> dt.datetime | None:
        found = cluster.kubectl(
            "get", "lease", config.name, "-n", namespace, "--ignore-not-found", "-o", "json"
        )
        stamp = json.loads(found)["spec"].get("renewTime") if found.strip() else None
        return dt.datetime.fromisoformat(stamp) if stamp else None

    async def record() -> None:
        while True:
            stamp = await asyncio.to_thread(renewed)
            if stamp is not None:
                watch.renewals.append(stamp)
            await asyncio.sleep(0.1)

    recording = asyncio.create_task(record())
    await until(
        lambda: watch.elector.is_leader and len(set(watch.renewals)) >= 2, what="the probe lease held"
    )
    yield watch
    for task in (recording, leading):
        task.cancel()
    await asyncio.gather(recording, leading, return_exceptions=True)


@pytest.fixture
def slow_jq() -> Iterator[JqRunner]:
    """The process's jq pool, with a deadline long enough to attack the controller *during* an evaluation."""
    runner = JqRunner(deadline=JQ_DEADLINE)
    before = jq_runner._default
    jq_runner._default = runner
    yield runner
    jq_runner._default = before
    runner.close()


async def _tenant_namespace(cluster: Cluster, namespace: str, suffix: str) -> str:
    target = f"{namespace}-{suffix}"
    await asyncio.to_thread(cluster.kubectl, "create", "namespace", target)
    return target


async def _apply(cluster: Cluster, obj: dict[str, Any]) -> None:
    # In a thread, like every blocking call of this test: the loop probe measures the controller.
    await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", stdin=json.dumps(obj))


async def test_a_jq_expression_that_never_ends_is_stopped_and_the_controller_keeps_serving(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    probe: LoopProbe,
    lease: LeaseWatch,
    slow_jq: JqRunner,
) -> None:
    url, _upstream = repo
    target = await _tenant_namespace(cluster, namespace, "jq")
    app = application(namespace, target, url, name="jq-attack")
    app["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jqPathExpressions": ["last(range(1e12))"]}
    ]
    await _apply(cluster, app)

    # The expression is running in a jq worker ...
    await until(lambda: slow_jq.evaluations >= 1, timeout=60, what="the attack's jq evaluation to start")
    # ... and meanwhile the bystander's drift is healed, and the loop is never late.
    await bystander.heals()
    assert slow_jq.timeouts == 0, "the evaluation ended before the heal was measured: nothing was shown"
    assert probe.worst < MAX_LAG, f"the event loop stalled for {probe.worst:.2f}s during the evaluation"
    # A Lease renewed by a coroutine on the same loop kept its pace (a frozen loop: a 6 s gap).
    await until(lambda: slow_jq.timeouts >= 1, timeout=30, what="the evaluation to be stopped")
    assert lease.elector.is_leader
    assert lease.widest_gap() < 0.5 + MAX_LAG, f"the Lease went {lease.widest_gap():.2f}s without renewal"

    # The expression is stopped at its deadline, and the app says why, naming the field.
    found = await until(
        lambda: condition(app_status(cluster, namespace, "jq-attack"), "ComparisonError"),
        timeout=60,
        what="a ComparisonError on the attacking app",
    )
    assert "spec.ignoreDifferences[0].jqPathExpressions[0]" in found["message"]
    assert "'last(range(1e12))'" in found["message"] and "longer than" in found["message"]
    assert slow_jq.timeouts >= 1
    # Only the attacking app carries it.
    others = await asyncio.to_thread(app_status, cluster, namespace, bystander.name)
    assert condition(others, "ComparisonError") is None
    await bystander.heals()
    assert probe.worst < MAX_LAG


async def test_hostile_directory_globs_neither_stall_nor_crash_the_controller(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    probe: LoopProbe,
) -> None:
    url, upstream = repo
    # A near miss that made the regex translation backtrack for minutes, and a file that matches.
    near_miss, chosen = "a" * 60 + ".yaml", "a" * 12 + "b.yaml"
    files = {
        f"attack/{near_miss}": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: near-miss\n",
        f"attack/{chosen}": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chosen\n",
    }
    await asyncio.to_thread(upstream.commit, files)
    slow_target = await _tenant_namespace(cluster, namespace, "glob")
    bad_target = await _tenant_namespace(cluster, namespace, "badglob")
    slow = application(namespace, slow_target, url, name="glob-attack", path="attack")
    slow["spec"]["source"]["directory"] = {"include": "*a*a*a*a*a*a*a*a*a*ab.yaml"}
    bad = application(namespace, bad_target, url, name="bad-glob", path="attack")
    bad["spec"]["source"]["directory"] = {"include": "[z-a].yaml"}
    started = time.monotonic()
    for app in (slow, bad):
        await _apply(cluster, app)

    # The invalid pattern: an InvalidSpecError naming the field and the pattern; nothing deployed.
    refused = await until(
        lambda: condition(app_status(cluster, namespace, "bad-glob"), "InvalidSpecError"),
        timeout=60,
        what="an InvalidSpecError on the app with [z-a]",
    )
    assert "spec.source.directory.include" in refused["message"]
    assert "reversed range 'z-a'" in refused["message"]

    # The backtracking pattern: matched at once, and as a glob should be (the near miss left out).
    await until(lambda: live(cluster, "configmap", "chosen", slow_target), timeout=60, what="the chosen file")
    assert time.monotonic() - started < 30
    assert await asyncio.to_thread(live, cluster, "configmap", "near-miss", slow_target) is None
    status = await asyncio.to_thread(app_status, cluster, namespace, "glob-attack")
    assert not status.get("conditions")
    assert await asyncio.to_thread(live, cluster, "configmap", "chosen", bad_target) is None

    await bystander.heals()
    assert probe.worst < MAX_LAG, f"the event loop stalled for {probe.worst:.2f}s"
