"""Health of each built-in kind, judged from plain dicts as the apiserver returns them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.engine.health.assess import assess
from gitward.model.health import HealthStatus

H, S, P, D, U = (
    HealthStatus.healthy,
    HealthStatus.suspended,
    HealthStatus.progressing,
    HealthStatus.degraded,
    HealthStatus.unknown,
)


def obj(api_version: str, kind: str, spec: Any = None, status: Any = None, **metadata: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", **metadata}}
    if spec is not None:
        out["spec"] = spec
    if status is not None:
        out["status"] = status
    return out


def deployment(spec: Any = None, status: Any = None, generation: int = 2) -> dict[str, Any]:
    full = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    return obj(
        "apps/v1",
        "Deployment",
        {"replicas": 3, **(spec or {})},
        {**full, **(status or {})},
        generation=generation,
    )


def status_of(o: dict[str, Any]) -> HealthStatus:
    health = assess(o)
    assert health is not None
    return health.status


class TestDeployment:
    def test_rolled_out_is_healthy(self) -> None:
        assert status_of(deployment()) is H

    def test_paused_is_suspended_even_mid_rollout(self) -> None:
        assert status_of(deployment({"paused": True}, {"updatedReplicas": 1})) is S

    def test_stale_generation_is_progressing_even_if_counts_look_done(self) -> None:
        assert status_of(deployment(generation=3)) is P

    def test_progress_deadline_exceeded_is_degraded_with_its_message(self) -> None:
        condition = {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "web-1" has timed out progressing.',
        }
        health = assess(deployment(status={"updatedReplicas": 1, "conditions": [condition]}))
        assert health is not None
        assert health.status is D
        assert "timed out" in health.message

    @pytest.mark.parametrize(
        "status",
        [
            {"updatedReplicas": 1},  # new replicas not all created
            {"replicas": 4},  # an old replica still terminating
            {"availableReplicas": 2},  # updated but not yet available
        ],
    )
    def test_rollout_in_progress(self, status: dict[str, int]) -> None:
        assert status_of(deployment(status=status)) is P

    def test_replicas_default_to_one_when_omitted(self) -> None:
        d = obj("apps/v1", "Deployment", {}, {"observedGeneration": 1}, generation=1)
        assert status_of(d) is P
        d["status"].update(replicas=1, updatedReplicas=1, availableReplicas=1)
        assert status_of(d) is H

    def test_scaled_to_zero_is_healthy(self) -> None:
        d = deployment({"replicas": 0}, {"replicas": 0, "updatedReplicas": 0, "availableReplicas": 0})
        assert status_of(d) is H


class TestStatefulSet:
    def sts(self, spec: Any = None, status: Any = None) -> dict[str, Any]:
        done = {
            "observedGeneration": 1,
            "replicas": 3,
            "readyReplicas": 3,
            "updatedReplicas": 3,
            "currentRevision": "r1",
            "updateRevision": "r1",
        }
        return obj(
            "apps/v1",
            "StatefulSet",
            {"replicas": 3, **(spec or {})},
            {**done, **(status or {})},
            generation=1,
        )

    def test_rolled_out_is_healthy(self) -> None:
        assert status_of(self.sts()) is H

    @pytest.mark.parametrize(
        "status", [{"observedGeneration": 0}, {"readyReplicas": 2}, {"updateRevision": "r2"}]
    )
    def test_in_progress(self, status: dict[str, Any]) -> None:
        assert status_of(self.sts(status=status)) is P

    def test_partition_waits_only_for_pods_above_it(self) -> None:
        spec = {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}
        # Revisions differ on purpose: the two pods below the partition keep the old one.
        assert status_of(self.sts(spec, {"updatedReplicas": 1, "updateRevision": "r2"})) is H
        assert status_of(self.sts(spec, {"updatedReplicas": 0, "updateRevision": "r2"})) is P

    def test_on_delete_is_healthy_despite_revision_mismatch(self) -> None:
        spec = {"updateStrategy": {"type": "OnDelete"}}
        assert status_of(self.sts(spec, {"updateRevision": "r2"})) is H


class TestDaemonSet:
    def ds(self, spec: Any = None, status: Any = None) -> dict[str, Any]:
        done = {
            "observedGeneration": 1,
            "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 2,
        }
        return obj("apps/v1", "DaemonSet", spec or {}, {**done, **(status or {})}, generation=1)

    def test_rolled_out_is_healthy(self) -> None:
        assert status_of(self.ds()) is H

    @pytest.mark.parametrize(
        "status", [{"observedGeneration": 0}, {"updatedNumberScheduled": 1}, {"numberAvailable": 1}]
    )
    def test_in_progress(self, status: dict[str, int]) -> None:
        assert status_of(self.ds(status=status)) is P

    def test_on_delete_is_healthy(self) -> None:
        assert (
            status_of(self.ds({"updateStrategy": {"type": "OnDelete"}}, {"updatedNumberScheduled": 0})) is H
        )


class TestReplicaSet:
    def test_available_is_healthy_and_short_is_progressing(self) -> None:
        rs = obj(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 2},
            {"observedGeneration": 1, "readyReplicas": 2, "availableReplicas": 2},
            generation=1,
        )
        assert status_of(rs) is H
        rs["status"]["availableReplicas"] = 1
        assert status_of(rs) is P

    def test_replica_failure_is_degraded(self) -> None:
        failure = {"type": "ReplicaFailure", "status": "True", "message": "pods is forbidden: exceeded quota"}
        rs = obj(
            "apps/v1",
            "ReplicaSet",
            {"replicas": 2},
            {"observedGeneration": 1, "conditions": [failure]},
            generation=1,
        )
        health = assess(rs)
        assert health is not None
        assert (health.status, health.message) == (D, failure["message"])


class TestServiceAndIngress:
    def test_cluster_ip_service_is_healthy(self) -> None:
        assert status_of(obj("v1", "Service", {"type": "ClusterIP"})) is H

    def test_load_balancer_waits_for_an_address(self) -> None:
        svc = obj("v1", "Service", {"type": "LoadBalancer"}, {"loadBalancer": {}})
        assert status_of(svc) is P
        svc["status"]["loadBalancer"]["ingress"] = [{"ip": "10.0.0.1"}]
        assert status_of(svc) is H

    def test_ingress_needs_an_address(self) -> None:
        ing = obj("networking.k8s.io/v1", "Ingress", {}, {"loadBalancer": {}})
        assert status_of(ing) is P
        ing["status"]["loadBalancer"]["ingress"] = [{"hostname": "lb.example"}]
        assert status_of(ing) is H


@pytest.mark.parametrize(
    ("phase", "expected"), [("Bound", H), ("Pending", P), ("Lost", D), (None, P), ("Weird", U)]
)
def test_persistent_volume_claim(phase: str | None, expected: HealthStatus) -> None:
    status = {"phase": phase} if phase else {}
    assert status_of(obj("v1", "PersistentVolumeClaim", {}, status)) is expected


class TestPod:
    def pod(
        self, phase: str, restart: str | None = None, ready: bool = False, **status: Any
    ) -> dict[str, Any]:
        spec = {"restartPolicy": restart} if restart else {}
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
        return obj("v1", "Pod", spec, {"phase": phase, "conditions": conditions, **status})

    def test_phases(self) -> None:
        assert status_of(self.pod("Pending")) is P
        assert status_of(self.pod("Succeeded")) is H
        assert status_of(self.pod("Failed", message="OOMKilled")) is D
        assert status_of(self.pod("Running", ready=True)) is H
        assert status_of(self.pod("Running")) is P

    @pytest.mark.parametrize(
        "reason", ["CrashLoopBackOff", "ImagePullBackOff", "CreateContainerConfigError", "ErrImagePull"]
    )
    def test_failing_waiting_reason_is_degraded_with_reason(self, reason: str) -> None:
        waiting = {"name": "app", "state": {"waiting": {"reason": reason, "message": "boom"}}}
        health = assess(self.pod("Running", containerStatuses=[waiting]))
        assert health is not None
        assert health.status is D
        assert health.message == f"{reason}: boom"

    def test_benign_waiting_reason_is_progressing(self) -> None:
        waiting = {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}
        assert status_of(self.pod("Pending", containerStatuses=[waiting])) is P

    def test_unready_pod_that_crashed_before_is_degraded(self) -> None:
        crashed = {
            "name": "app",
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
            "state": {"running": {}},
        }
        health = assess(self.pod("Running", containerStatuses=[crashed]))
        assert health is not None
        assert health.status is D
        assert "app" in health.message

    @pytest.mark.parametrize("restart", ["Never", "OnFailure"])
    def test_run_to_completion_pod_running_is_progressing(self, restart: str) -> None:
        waiting = {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        assert status_of(self.pod("Running", restart, containerStatuses=[waiting])) is P

    def test_init_container_back_off_is_degraded(self) -> None:
        waiting = {"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        assert status_of(self.pod("Pending", initContainerStatuses=[waiting])) is D


class TestJob:
    def test_conditions_and_suspend(self) -> None:
        assert (
            status_of(obj("batch/v1", "Job", {}, {"conditions": [{"type": "Complete", "status": "True"}]}))
            is H
        )
        failed = {
            "type": "Failed",
            "status": "True",
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
        }
        health = assess(obj("batch/v1", "Job", {}, {"conditions": [failed]}))
        assert health is not None
        assert (health.status, health.message) == (D, failed["message"])
        assert status_of(obj("batch/v1", "Job", {"suspend": True}, {})) is S
        assert status_of(obj("batch/v1", "Job", {}, {"active": 1})) is P

    def test_a_false_condition_does_not_count(self) -> None:
        assert (
            status_of(obj("batch/v1", "Job", {}, {"conditions": [{"type": "Failed", "status": "False"}]}))
            is P
        )


class TestHorizontalPodAutoscaler:
    def test_v2_conditions(self) -> None:
        ok = [{"type": "AbleToScale", "status": "True"}, {"type": "ScalingActive", "status": "True"}]
        assert status_of(obj("autoscaling/v2", "HorizontalPodAutoscaler", {}, {"conditions": ok})) is H
        broken = [
            {
                "type": "ScalingActive",
                "status": "False",
                "reason": "FailedGetResourceMetric",
                "message": "no metrics",
            }
        ]
        health = assess(obj("autoscaling/v2", "HorizontalPodAutoscaler", {}, {"conditions": broken}))
        assert health is not None
        assert (health.status, health.message) == (D, "FailedGetResourceMetric: no metrics")

    def test_v1_reads_conditions_from_the_annotation(self) -> None:
        conditions = json.dumps([{"type": "AbleToScale", "status": "False", "reason": "FailedGetScale"}])
        hpa = obj(
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            {},
            {},
            annotations={"autoscaling.alpha.kubernetes.io/conditions": conditions},
        )
        assert status_of(hpa) is D

    def test_without_conditions_is_progressing(self) -> None:
        assert status_of(obj("autoscaling/v2", "HorizontalPodAutoscaler", {}, {})) is P


def test_api_service() -> None:
    available = {"conditions": [{"type": "Available", "status": "True"}]}
    assert status_of(obj("apiregistration.k8s.io/v1", "APIService", {}, available)) is H
    missing = {"conditions": [{"type": "Available", "status": "False", "message": "endpoints missing"}]}
    health = assess(obj("apiregistration.k8s.io/v1", "APIService", {}, missing))
    assert health is not None
    assert (health.status, health.message) == (P, "endpoints missing")


def test_an_object_being_deleted_is_progressing() -> None:
    assert (
        status_of(deployment() | {"metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}})
        is P
    )


@pytest.mark.parametrize(
    "o",
    [
        obj("example.com/v1", "Widget", {}, {"phase": "Failed"}),
        obj("v1", "ConfigMap"),
        obj("example.com/v1", "Widget", metadata_deleting=True)
        | {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}},
        {"kind": "Deployment"},  # no apiVersion: not the apps Deployment
        {},
    ],
)
def test_a_kind_without_a_rule_has_no_health(o: dict[str, Any]) -> None:
    assert assess(o) is None


def test_garbage_fields_do_not_crash() -> None:
    d = obj("apps/v1", "Deployment", "not a map", {"replicas": "three", "conditions": "none"})
    assert status_of(d) is P
