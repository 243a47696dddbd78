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
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.engine import jq_runner
from gitward.engine.jq_runner import JqRunner
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
