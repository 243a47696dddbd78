"""Why a workload is not healthy, in its pods' words.

A Deployment's health (Argo CD's rule) reads only its own status: a rollout
whose image cannot be pulled says "ReplicaSet ... has timed out progressing"
or keeps waiting, while the reason is in its pods. When a sync ends with a
workload Degraded or still progressing, its worst pod's message is added
(`pod web-7d9f-x2l: ImagePullBackOff: Back-off pulling image "..."`): one
LIST of its pods, only for those that did not settle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.engine.health.assess import assess
from gitward.kube import KubeError, Writer
from gitward.model.health import Health, HealthStatus

WORKLOADS = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")}
)
_NOT_WORTH_NAMING = frozenset({HealthStatus.healthy, HealthStatus.suspended})
_OPERATORS = {"In": "in", "NotIn": "notin"}


def label_selector(selector: object) -> str | None:
    """A `spec.selector` as a `labelSelector` query; None when it selects nothing expressible."""
    if not isinstance(selector, Mapping):
        return None
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(expression.get("values") or ())
        if operator in _OPERATORS:
            terms.append(f"{key} {_OPERATORS[operator]} ({values})")
        elif operator == "Exists":
            terms.append(str(key))
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            return None
    return ",".join(terms) or None


async def worst_pod(writer: Writer, workload: Mapping[str, Any]) -> str | None:
    """`pod NAME: message` for the least healthy pod the workload selects, if one is not healthy."""
    metadata = workload.get("metadata") or {}
    query = label_selector((workload.get("spec") or {}).get("selector"))
    namespace = metadata.get("namespace")
    if query is None or not namespace:
        return None
    try:
        resource = await writer.discovery.resolve("v1", "Pod")
        answer = await writer.connection.request(
            "GET", resource.path(namespace), params={"labelSelector": query, "limit": "100"}
        )
    except KubeError:
        return None  # only an explanation: the verdict stands without it
    judged: list[tuple[Health, str]] = []
    for pod in answer.get("items") or ():
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        health = assess(pod)
        if health is not None and health.status not in _NOT_WORTH_NAMING and health.message:
            judged.append((health, str((pod.get("metadata") or {}).get("name", "?"))))
    if not judged:
        return None
    health, name = max(judged, key=lambda item: (item[0].status.severity, item[1]))
    return f"pod {name}: {health.message}"


async def explained(writer: Writer, obj: Mapping[str, Any] | None, health: Health | None) -> Health | None:
    """`health` with the worst pod's message added, for a workload that is Degraded or still waiting."""
    if obj is None or health is None or health.status in _NOT_WORTH_NAMING:
        return health
    api_version = str(obj.get("apiVersion", ""))
    if (api_version.rpartition("/")[0], obj.get("kind")) not in WORKLOADS:
        return health
    reason = await worst_pod(writer, obj)
    if reason is None:
        return health
    message = f"{health.message}; {reason}" if health.message else reason
    return Health(health.status, message)
