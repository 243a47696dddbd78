"""Drift reaches the queue through the watch: spec edits enqueue the tracking app, status churn does not."""

from __future__ import annotations

import asyncio
import json

import pytest

from gitward.controller.queue import WorkQueue
from gitward.controller.triggers import PollPolicy, Triggers
from gitward.kube.connection import Connection
from gitward.kube.discovery import Discovery
from gitward.kube.reflector import WatchCache
from gitward.kube.store import Change, ChangeType
from gitward.model.resource import ResourceKey
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster


def tracked_configmap(namespace: str, app: str, name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": {"gitward.dev/tracking-id": f"{app}:/ConfigMap:{namespace}/{name}"},
            },
            "data": {"colour": "blue"},
        }
    )


async def next_key(queue: WorkQueue, timeout: float = 10.0) -> str:
    key = await asyncio.wait_for(queue.get(), timeout)
    queue.done(key)
    return key


async def test_a_hand_edit_enqueues_the_app_and_an_untracked_object_does_not(
    cluster: Cluster, connection: Connection, namespace: str
) -> None:
    queue = WorkQueue()
    triggers = Triggers(queue)
    cache = WatchCache(connection, Discovery(connection))
    try:
        await cache.ensure("v1", "ConfigMap")
        cache.store.subscribe(triggers.on_change)
        cluster.kubectl("apply", "-f", "-", stdin=tracked_configmap(namespace, "shop", "settings"))
        assert await next_key(queue) == "shop"

        cluster.kubectl("create", "configmap", "untracked", "-n", namespace, "--from-literal=a=b")
        cluster.kubectl(
            "patch",
            "configmap",
            "settings",
            "-n",
            namespace,
            "--type=merge",
            "-p",
            '{"data":{"colour":"red"}}',
        )
        assert await next_key(queue) == "shop", "the edit of the tracked object, not the untracked one"
        assert len(queue) == 0
    finally:
        await cache.aclose()


async def test_status_churn_never_enqueues(cluster: Cluster, connection: Connection, namespace: str) -> None:
    queue = WorkQueue()
    triggers = Triggers(queue)
    cache = WatchCache(connection, Discovery(connection))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": namespace,
            "annotations": {"gitward.dev/tracking-id": f"shop:apps/Deployment:{namespace}/web"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]},
            },
        },
    }
    try:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(deployment))
        cluster.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")
        await cache.ensure("apps/v1", "Deployment")
        cache.store.subscribe(triggers.on_change)
        # The rollout is over; now only status moves.
        cluster.kubectl(
            "patch",
            "deployment",
            "web",
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"conditions":[{"type":"Available","status":"True","reason":"Poked"}]}}',
        )
        with pytest.raises(TimeoutError):
            await next_key(queue, timeout=3.0)
        assert triggers.counts["drift"] == 0

        cluster.kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=3")
        assert await next_key(queue) == "shop"
    finally:
        await cache.aclose()


def test_poll_delays_spread_around_the_interval() -> None:
    policy = PollPolicy(interval=180.0, jitter=0.1)
    delays = [policy.next_delay() for _ in range(200)]
    assert all(162.0 <= d <= 198.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100, "apps created together must not poll together"


async def test_each_kind_of_application_change_enqueues_and_is_counted_apart() -> None:
    queue = WorkQueue()
    triggers = Triggers(queue, namespace="apps")
    key = ResourceKey("gitward.dev", "Application", "apps", "shop")

    def change(obj: dict[str, object], namespace: str = "apps") -> None:
        moved = ResourceKey(key.group, key.kind, namespace, key.name)
        triggers.on_change(Change(ChangeType.modified, moved, None, obj))

    change({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}})
    change({"metadata": {}, "operation": {"sync": {}}})
    change({"metadata": {"annotations": {"gitward.dev/automation-paused": "rollback to history 1"}}})
    change({"metadata": {"annotations": {"gitward.dev/refresh": "normal"}}}, namespace="elsewhere")
    assert {k: v for k, v in triggers.counts.items() if v} == {"refresh": 1, "operation": 1, "spec": 1}
    assert await next_key(queue) == "shop"
    assert len(queue) == 0, "one app queued once"
