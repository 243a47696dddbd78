"""Health of objects as the real cluster reports them (controller-manager and kwok fill the status)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.engine.health.assess import assess
from gitward.model.health import HealthStatus
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster


def apply(cluster: Cluster, obj: dict[str, Any]) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(obj))


def health_of(cluster: Cluster, kind: str, name: str, namespace: str) -> HealthStatus | None:
    verdict = assess(cluster.get_json(kind, name, "-n", namespace))
    return verdict.status if verdict is not None else None


def pod_template(name: str, restart: str = "Always") -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {
            "restartPolicy": restart,
            "containers": [{"name": "app", "image": "registry.example/app:1"}],
        },
    }


def test_workloads_become_healthy_once_rolled_out(cluster: Cluster, namespace: str) -> None:
    apply(
        cluster,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": pod_template("web"),
            },
        },
    )
    apply(
        cluster,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": namespace},
            "spec": {"template": pod_template("migrate", "Never")},
        },
    )
    eventually(
        lambda: health_of(cluster, "deployment", "web", namespace) is HealthStatus.healthy, 60, "web Healthy"
    )
    eventually(
        lambda: health_of(cluster, "job", "migrate", namespace) is HealthStatus.healthy, 60, "job Healthy"
    )
    pods = cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]
    assert pods
    for pod in pods:
        verdict = assess(pod)
        assert verdict is not None
        assert verdict.status is HealthStatus.healthy, verdict


def test_what_waits_for_infrastructure_is_progressing(cluster: Cluster, namespace: str) -> None:
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": namespace},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        },
    )
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    # No cloud controller and no provisioner here: both stay waiting, which must not read as broken.
    assert health_of(cluster, "service", "lb", namespace) is HealthStatus.progressing
    assert health_of(cluster, "pvc", "data", namespace) is HealthStatus.progressing


def test_a_pod_whose_image_cannot_be_pulled_is_degraded_with_the_reason(
    cluster: Cluster, namespace: str
) -> None:
    # The local cluster's kwok fails every image tagged `:fail` (gitward.local.components).
    for name, image in (("broken", "registry.example/app:fail"), ("fine", "registry.example/app:1")):
        apply(
            cluster,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        )

    def verdict(name: str) -> Any:
        return assess(cluster.get_json("pod", name, "-n", namespace))

    broken = eventually(
        lambda: (v := verdict("broken")) and v.status is HealthStatus.degraded and v, 60, "broken Degraded"
    )
    assert "ImagePullBackOff" in broken.message
    assert "registry.example/app:fail" in broken.message
    eventually(lambda: verdict("fine").status is HealthStatus.healthy, 60, "fine Healthy")
    # The failure is a steady state, not a passing stage: the pod never turns Ready.
    pod = cluster.get_json("pod", "broken", "-n", namespace)
    assert pod["status"]["phase"] == "Pending"
    assert verdict("broken").status is HealthStatus.degraded
