"""Fixtures of the adversarial suite: a canary that no attack may create, and a bystander app.

Every attack in tests/security runs as a tenant would run it (an Application
spec, a file in Git, a request to the API) against the real controller or
server on the local cluster. Two things are checked around each one:
- `canary`: a path that a command injected by the attack would create; the
  test asserts it never appears;
- `bystander`: another team's app, Synced by the same controller; while the
  attack is under way, a hand edit of its Deployment must be reverted within
  two seconds, so an attack that freezes the event loop or starves the
  workers fails the test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitward.controller.run import Controller

# The end-to-end fixtures (a Git server with the shop app, a running controller), shared as they are.
from tests.e2e.conftest import controller, repo, slow_poll  # noqa: F401
from tests.e2e.support import DEPLOYMENT, application, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

# How soon a hand edit of the bystander must be reverted while an attack runs.
HEAL_WITHIN = 2.0


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A file an injected command would create (`touch <canary>`); asserted absent after the test."""
    path = tmp_path / "canary" / "pwned"
    path.parent.mkdir()
    yield path
    assert not path.exists(), f"an injected command ran: {path} exists"


@dataclass
class Bystander:
    """Another team's app: a Deployment `web` with 2 replicas in its own namespace."""

    cluster: Cluster
    namespace: str
    name: str

    async def heals(self, within: float = HEAL_WITHIN) -> float:
        """Scale the Deployment by hand and wait for the controller to put it back; the seconds it took.

        Fails when the revert takes longer than `within`: the controller was
        blocked or starved while this ran.
        """
        replicas = await asyncio.to_thread(self._replicas)
        assert replicas == 2, f"the bystander is not in its synced state before the edit ({replicas})"
        await asyncio.to_thread(
            self.cluster.kubectl, "scale", "deployment/web", "-n", self.namespace, "--replicas=5"
        )
        started = time.monotonic()
        # The deadline is generous so that a slow revert is measured and reported, not just timed out.
        await until(lambda: self._replicas() == 2, timeout=max(30.0, within * 5), what="bystander healed")
        took = time.monotonic() - started
        assert took <= within, f"the bystander's drift was healed only after {took:.2f}s (limit {within}s)"
        return took

    def _replicas(self) -> int | None:
        found = live(self.cluster, "deployment", "web", self.namespace)
        return None if found is None else int(found["spec"]["replicas"])


@pytest.fixture
async def bystander(
    cluster: Cluster,
    namespace: str,
    controller: Controller,  # noqa: F811
    repo: tuple[str, Upstream],  # noqa: F811
) -> AsyncIterator[Bystander]:
    """The shop app of the e2e fixtures, Synced by the running controller, deployed to its own namespace."""
    url, _upstream = repo
    target = f"{namespace}-bystander"
    cluster.kubectl("create", "namespace", target)
    spec = application(namespace, target, url, name="bystander")
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(spec))
    found = Bystander(cluster, target, "bystander")
    await until(lambda: found._replicas() == 2, timeout=90, what="bystander synced")
    try:
        yield found
    finally:
        await asyncio.to_thread(cluster.kubectl, "delete", "namespace", target, "--wait=false")


__all__ = ["DEPLOYMENT", "HEAL_WITHIN", "Bystander", "bystander", "canary"]
