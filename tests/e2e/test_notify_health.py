"""Health turning Degraded, told once to the AppProject's webhook, through the real controller.

The local cluster's kwok keeps pods of an image tagged `:fail` in
ImagePullBackOff: a rollout to such an image misses its progress deadline
and the Deployment, hence the app, becomes Degraded, and stays so.
"""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY

from gitward.controller.run import Controller
from tests.controller import test_notify
from tests.controller.test_notify import Receiver, project
from tests.e2e.support import DEPLOYMENT, app_status, until
from tests.e2e.test_health_rules import create_app
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

# The receiver of the existing notification tests: a real HTTP server on a real socket.
receiver = test_notify.receiver

FAILING = DEPLOYMENT.format(replicas=2).replace("registry.example/web:1", "registry.example/web:fail")
# Without a short deadline the rollout would count as Progressing for the default ten minutes.
FAILING = FAILING.replace("spec:\n  replicas: 2", "spec:\n  progressDeadlineSeconds: 1\n  replicas: 2", 1)


def reconciles() -> float:
    """The controller's own count of app reconciles (in this process: the test's controller)."""
    total = 0.0
    for family in REGISTRY.collect():
        if family.name == "gitward_app_reconcile_duration_seconds":
            total += sum(s.value for s in family.samples if s.name.endswith("_count"))
    return total


async def test_an_app_turning_degraded_is_told_once_while_it_stays_degraded(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    receiver: Receiver,
) -> None:
    url, upstream = repo
    assert "registry.example/web:fail" in FAILING and "progressDeadlineSeconds: 1" in FAILING
    team = project(namespace, "team", {"gitward.dev/notify-webhook-url": receiver.url})
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(team))
    create_app(cluster, namespace, url, project="team")

    def health() -> str:
        return str((app_status(cluster, namespace, "shop").get("health") or {}).get("status"))

    def degraded_notes() -> list[dict[str, object]]:
        return [b for b in list(receiver.bodies) if str(b.get("text")).startswith("[health-degraded]")]

    await until(lambda: health() == "Healthy", what="the app Healthy at first")
    await until(
        lambda: any(t.startswith(f"[sync-succeeded] {namespace}/shop") for t in receiver.texts()),
        what="the first sync's notification (the receiver is reachable)",
    )
    assert degraded_notes() == []

    upstream.commit({"deploy/web.yaml": FAILING})
    await until(lambda: health() == "Degraded", timeout=120, what="the app Degraded by the failing image")
    await until(degraded_notes, what="the health-degraded notification")

    # It stays Degraded through several more reconciles of the app (it is the only one): no repeat.
    seen = reconciles()
    await until(lambda: reconciles() >= seen + 5, what="five more reconciles")
    assert health() == "Degraded"
    notes = degraded_notes()
    assert len(notes) == 1, [b.get("text") for b in receiver.bodies]
    text = str(notes[0]["text"])
    assert text.startswith(f"[health-degraded] {namespace}/shop: health Degraded")
    print(f"received: {text}")
    attachment = notes[0]["attachments"][0]  # type: ignore[index]
    assert attachment["color"] == "danger"
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields == {"Application": f"{namespace}/shop", "Project": "team", "Event": "health-degraded"}
