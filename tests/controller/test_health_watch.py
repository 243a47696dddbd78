"""A status-only change enqueues the app only when the object's health moved."""

from __future__ import annotations

import copy
from typing import Any

from gitward.controller.health_watch import HealthWatch
from gitward.controller.queue import WorkQueue
from gitward.kube.store import Store
from gitward.model.resource import TRACKING_ANNOTATION


def deployment(available: bool, observed: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "generation": 1,
            "resourceVersion": str(observed),
            "annotations": {TRACKING_ANNOTATION: "gitward_shop:apps/Deployment:shop/web"},
        },
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1 if available else 0,
            "conditions": [{"type": "Available", "status": "True" if available else "False"}],
        },
    }


async def test_a_rollout_finishing_enqueues_its_app_and_status_churn_does_not() -> None:
    queue = WorkQueue()
    store = Store()
    watch = HealthWatch(queue, namespace="gitward")
    store.subscribe_status(watch.on_status)
    store.upsert(deployment(available=False))

    churn = copy.deepcopy(deployment(available=False, observed=2))
    churn["status"]["replicas"] = 2  # status moved, health did not (still Progressing)
    store.upsert(churn)
    assert len(queue) == 0

    store.upsert(deployment(available=True, observed=3))
    assert len(queue) == 1
    assert await queue.get() == "shop"
