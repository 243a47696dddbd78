"""A wait outlives an apiserver that cannot answer for a while; only a real answer ends it.

A hook or a wave is waited on by re-reading it. A read the apiserver could
not answer (unreachable, 5xx while its etcd is away) says nothing about the
object: the wait goes on until its deadline instead of failing the sync,
whose retry would run the hook again. An error that is an answer (403) still
ends the wait at once.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from gitward.engine.sync import waits
from gitward.kube import KubeError, Writer

JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop"}}
DONE = {**JOB, "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "generation": 1},
    "spec": {"replicas": 1},
    "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0},
}
AVAILABLE = {
    **DEPLOYMENT,
    "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
}


class Flaky:
    """A writer whose reads fail with `errors`, in turn, then answer `answer`."""

    def __init__(self, errors: list[KubeError], answer: dict[str, Any]) -> None:
        self.errors = errors
        self.answer = answer
        self.reads = 0

    async def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        self.reads += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.answer


OUTAGE = [
    KubeError(0, "Unreachable", "GET jobs/migrate: ClientConnectorError: connection refused"),
    KubeError(503, "ServiceUnavailable", "the apiserver is shutting down"),
    KubeError(500, "InternalError", "etcdserver: request timed out"),
]


async def test_a_hook_is_waited_for_through_an_outage() -> None:
    writer = Flaky(list(OUTAGE), DONE)
    finished, _ = await waits.wait_finished(cast(Writer, writer), JOB, timeout=30)
    assert finished is True
    assert writer.reads == len(OUTAGE) + 1


async def test_an_outage_past_the_deadline_leaves_the_hook_running_not_failed() -> None:
    writer = Flaky([OUTAGE[0]] * 100, DONE)
    finished, message = await waits.wait_finished(cast(Writer, writer), JOB, timeout=0.5)
    assert finished is None, "unknown, as a hook still running at the deadline"
    assert "the apiserver did not answer" in message and "connection refused" in message


async def test_an_error_that_is_an_answer_ends_the_wait() -> None:
    writer = Flaky([KubeError(403, "Forbidden", "jobs is forbidden")], DONE)
    with pytest.raises(KubeError, match="forbidden"):
        await waits.wait_finished(cast(Writer, writer), JOB, timeout=30)


async def test_a_wave_is_waited_for_through_an_outage() -> None:
    writer = Flaky(list(OUTAGE), AVAILABLE)
    [verdict] = await waits.wait_healthy(cast(Writer, writer), [DEPLOYMENT], timeout=30)
    assert verdict.health is not None and str(verdict.health.status) == "Healthy"
