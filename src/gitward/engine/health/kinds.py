"""Health rules for Kubernetes' built-in kinds: one pure function per kind.

Each function reads only the object it is given. Missing fields take the
apiserver's defaults (replicas 1, restartPolicy Always), because a manifest
judged before the server filled them in must not look broken.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from gitward.model.health import Health, HealthStatus

Obj = Mapping[str, Any]

HEALTHY = HealthStatus.healthy
SUSPENDED = HealthStatus.suspended
PROGRESSING = HealthStatus.progressing
DEGRADED = HealthStatus.degraded
UNKNOWN = HealthStatus.unknown


def _map(obj: Obj, key: str) -> Obj:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _int(obj: Obj, key: str, default: int = 0) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _conditions(status: Obj) -> list[Obj]:
    items = status.get("conditions")
    return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def _condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in _conditions(status) if c.get("type") == kind), None)


def _is_true(condition: Obj | None) -> bool:
    return condition is not None and condition.get("status") == "True"


def _generation_is_stale(obj: Obj) -> bool:
    observed = _int(_map(obj, "status"), "observedGeneration")
    return observed < _int(_map(obj, "metadata"), "generation")


def deployment(obj: Obj) -> Health:
    spec, status = _map(obj, "spec"), _map(obj, "status")
    if spec.get("paused") is True:
        return Health(SUSPENDED, "Deployment is paused")
    if _generation_is_stale(obj):
        return Health(PROGRESSING, "Waiting for the controller to observe the latest generation")
    progressing = _condition(status, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(DEGRADED, str(progressing.get("message") or "Progress deadline exceeded"))
    wanted = _int(spec, "replicas", 1)
    updated = _int(status, "updatedReplicas")
    current = _int(status, "replicas")
    available = _int(status, "availableReplicas")
    if updated < wanted:
        return Health(PROGRESSING, f"Rollout in progress: {updated} of {wanted} replicas updated")
    if current > updated:
        return Health(PROGRESSING, f"Rollout in progress: {current - updated} old replicas still running")
    if available < updated:
        return Health(
            PROGRESSING, f"Rollout in progress: {available} of {updated} updated replicas available"
        )
    return Health(HEALTHY, "")


def replica_set(obj: Obj) -> Health:
    spec, status = _map(obj, "spec"), _map(obj, "status")
    if _generation_is_stale(obj):
        return Health(PROGRESSING, "Waiting for the controller to observe the latest generation")
    failure = _condition(status, "ReplicaFailure")
    if failure is not None and _is_true(failure):
        return Health(DEGRADED, str(failure.get("message") or failure.get("reason") or "Replica failure"))
    wanted = _int(spec, "replicas", 1)
    ready, available = _int(status, "readyReplicas"), _int(status, "availableReplicas")
    if min(ready, available) < wanted:
        return Health(PROGRESSING, f"{min(ready, available)} of {wanted} replicas available")
    return Health(HEALTHY, "")


def stateful_set(obj: Obj) -> Health:
    spec, status = _map(obj, "spec"), _map(obj, "status")
    if _int(status, "observedGeneration") == 0 or _generation_is_stale(obj):
        return Health(PROGRESSING, "Waiting for the controller to observe the latest generation")
    wanted = _int(spec, "replicas", 1)
    ready = _int(status, "readyReplicas")
    if ready < wanted:
        return Health(PROGRESSING, f"{ready} of {wanted} pods ready")
    strategy = _map(spec, "updateStrategy")
    if strategy.get("type") == "OnDelete":
        return Health(HEALTHY, "OnDelete strategy: pods are updated only when deleted")
    partition = _int(_map(strategy, "rollingUpdate"), "partition")
    if partition > 0:
        # Pods below the partition keep the old revision on purpose; only those above it must update.
        expected = max(wanted - partition, 0)
        updated = _int(status, "updatedReplicas")
        if updated < expected:
            return Health(PROGRESSING, f"Partitioned rollout: {updated} of {expected} pods updated")
        return Health(HEALTHY, f"Partitioned rollout complete: {updated} pods updated")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Health(PROGRESSING, "Rolling update in progress")
    return Health(HEALTHY, "")


def daemon_set(obj: Obj) -> Health:
    spec, status = _map(obj, "spec"), _map(obj, "status")
    if _generation_is_stale(obj):
        return Health(PROGRESSING, "Waiting for the controller to observe the latest generation")
    if _map(spec, "updateStrategy").get("type") == "OnDelete":
        return Health(HEALTHY, "OnDelete strategy: pods are updated only when deleted")
    desired = _int(status, "desiredNumberScheduled")
    updated, available = _int(status, "updatedNumberScheduled"), _int(status, "numberAvailable")
    if updated < desired:
        return Health(PROGRESSING, f"{updated} of {desired} pods updated")
    if available < desired:
        return Health(PROGRESSING, f"{available} of {desired} pods available")
    return Health(HEALTHY, "")


def _has_lb_ingress(obj: Obj) -> bool:
    ingress = _map(_map(obj, "status"), "loadBalancer").get("ingress")
    return isinstance(ingress, list) and len(ingress) > 0


def service(obj: Obj) -> Health:
    if _map(obj, "spec").get("type") == "LoadBalancer" and not _has_lb_ingress(obj):
        return Health(PROGRESSING, "Waiting for the load balancer to get an address")
    return Health(HEALTHY, "")


def ingress(obj: Obj) -> Health:
    if _has_lb_ingress(obj):
        return Health(HEALTHY, "")
    return Health(PROGRESSING, "Waiting for the ingress controller to publish an address")


def persistent_volume_claim(obj: Obj) -> Health:
    phase = _map(obj, "status").get("phase")
    if phase == "Bound":
        return Health(HEALTHY, "")
    if phase in ("Pending", None):
        return Health(PROGRESSING, "Waiting for the claim to be bound")
    if phase == "Lost":
        return Health(DEGRADED, "The claim lost its volume")
    return Health(UNKNOWN, f"Unknown phase {phase!r}")


def _waiting_failure(statuses: list[Obj]) -> str | None:
    for container in statuses:
        waiting = _map(_map(container, "state"), "waiting")
        reason = waiting.get("reason")
        if isinstance(reason, str) and (
            reason.endswith("BackOff") or reason.endswith("Error") or reason.startswith("Err")
        ):
            message = waiting.get("message")
            return f"{reason}: {message}" if message else reason
    return None


def _termination(statuses: list[Obj]) -> str | None:
    for container in statuses:
        for where in ("state", "lastState"):
            terminated = _map(_map(container, where), "terminated")
            if terminated:
                name = container.get("name", "?")
                reason = terminated.get("reason") or f"exit code {terminated.get('exitCode')}"
                return f"container {name} terminated: {reason}"
    return None


def pod(obj: Obj) -> Health:
    spec, status = _map(obj, "spec"), _map(obj, "status")
    phase = status.get("phase")
    message = str(status.get("message") or "")
    raw = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    statuses = [c for c in raw if isinstance(c, Mapping)]
    always = spec.get("restartPolicy", "Always") == "Always"
    if phase == "Succeeded":
        return Health(HEALTHY, message)
    if phase == "Failed":
        return Health(DEGRADED, message or str(status.get("reason") or "Pod failed"))
    if always:
        failure = _waiting_failure(statuses)
        if failure:
            return Health(DEGRADED, failure)
    if phase in ("Pending", None):
        return Health(PROGRESSING, message or "Pod is pending")
    if phase == "Running":
        if not always:
            return Health(PROGRESSING, "Pod is running")
        if _is_true(_condition(status, "Ready")):
            return Health(HEALTHY, "")
        terminated = _termination(statuses)
        if terminated:
            return Health(DEGRADED, terminated)
        return Health(PROGRESSING, "Waiting for the pod to be ready")
    return Health(UNKNOWN, message or f"Unknown phase {phase!r}")


def job(obj: Obj) -> Health:
    status = _map(obj, "status")
    failed = _condition(status, "Failed")
    if failed is not None and _is_true(failed):
        return Health(DEGRADED, str(failed.get("message") or failed.get("reason") or "Job failed"))
    if _is_true(_condition(status, "Complete")):
        return Health(HEALTHY, "Job completed")
    if _map(obj, "spec").get("suspend") is True:
        return Health(SUSPENDED, "Job is suspended")
    return Health(PROGRESSING, "Job is running")


_HPA_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def _hpa_conditions(obj: Obj) -> list[Obj]:
    status = _map(obj, "status")
    if "conditions" in status:
        return _conditions(status)
    # autoscaling/v1 has no conditions field; the apiserver keeps them in this annotation as JSON.
    raw = _map(_map(obj, "metadata"), "annotations").get(_HPA_CONDITIONS_ANNOTATION)
    if not isinstance(raw, str):
        return []
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # an annotation nested past the parser's depth
        return []
    return [c for c in parsed if isinstance(c, Mapping)] if isinstance(parsed, list) else []


def horizontal_pod_autoscaler(obj: Obj) -> Health:
    conditions = _hpa_conditions(obj)
    if not conditions:
        return Health(PROGRESSING, "Waiting for the autoscaler to observe its target")
    for condition in conditions:
        if condition.get("type") in ("AbleToScale", "ScalingActive") and condition.get("status") == "False":
            reason = condition.get("reason") or condition.get("type")
            message = condition.get("message")
            return Health(DEGRADED, f"{reason}: {message}" if message else str(reason))
    return Health(HEALTHY, "")


def api_service(obj: Obj) -> Health:
    available = _condition(_map(obj, "status"), "Available")
    if _is_true(available):
        return Health(HEALTHY, "")
    message = str(available.get("message") or "") if available is not None else ""
    return Health(PROGRESSING, message or "Waiting for the API service to become available")


# Keyed by (group, kind); legacy groups are listed because old manifests still use them.
BUILTIN: dict[tuple[str, str], Callable[[Obj], Health]] = {
    ("apps", "Deployment"): deployment,
    ("extensions", "Deployment"): deployment,
    ("apps", "ReplicaSet"): replica_set,
    ("extensions", "ReplicaSet"): replica_set,
    ("apps", "StatefulSet"): stateful_set,
    ("apps", "DaemonSet"): daemon_set,
    ("extensions", "DaemonSet"): daemon_set,
    ("", "Service"): service,
    ("networking.k8s.io", "Ingress"): ingress,
    ("extensions", "Ingress"): ingress,
    ("", "PersistentVolumeClaim"): persistent_volume_claim,
    ("", "Pod"): pod,
    ("batch", "Job"): job,
    ("autoscaling", "HorizontalPodAutoscaler"): horizontal_pod_autoscaler,
    ("apiregistration.k8s.io", "APIService"): api_service,
}
