"""The Namespace and the Deployment that runs `gitward controller` inside the cluster.

The container's contract with the controller is environment variables, not
flags (an unknown variable is ignored where an unknown flag is fatal, so an
older image still starts): GITWARD_NAMESPACE and GITWARD_POD_NAME (leader
election identity), GITWARD_CACHE (the only writable place besides /tmp),
GITWARD_HEALTH_PORT (serving /healthz and /readyz) and GITWARD_COMPAT. The
API connection is the pod's service account (`Connection.in_cluster`).
"""

from __future__ import annotations

import copy
from typing import Any

from gitward.install.rbac import CONTROLLER

HEALTH_PORT = 8080
CACHE = "/var/cache/gitward"
TMP = "/tmp"  # noqa: S108 - the pod's own emptyDir, not a /tmp shared with other users
# A fixed non-root id: runAsNonRoot can only be verified by the kubelet with a numeric user.
USER_ID = 65532
SELECTOR = {"app.kubernetes.io/name": CONTROLLER}
# Shared with the API server's pod: both run as the same non-root user on a read-only root.
POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": USER_ID,
    "runAsGroup": USER_ID,
    "fsGroup": USER_ID,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
VOLUMES = [{"name": "cache", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]
VOLUME_MOUNTS = [{"name": "cache", "mountPath": CACHE}, {"name": "tmp", "mountPath": TMP}]


def namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "gitward"}},
    }


def _env(compat_argocd: bool) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "GITWARD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "GITWARD_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "GITWARD_CACHE", "value": CACHE},
        {"name": "GITWARD_HEALTH_PORT", "value": str(HEALTH_PORT)},
        # git, helm and kustomize write under HOME; the root file system is read-only.
        {"name": "HOME", "value": TMP},
    ]
    if compat_argocd:
        env.append({"name": "GITWARD_COMPAT", "value": "argocd"})
    return env


def probe(path: str, period: int, initial_delay: int, port: str = "health") -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


# A Pod's log is read by a log collector: one JSON object per line (see gitward.cli.logs).
LOG_ARGS = ("--log-format", "json")


def deployment(namespace: str, image: str, compat_argocd: bool, replicas: int = 1) -> dict[str, Any]:
    """One replica by default; more are safe (leader election on a Lease) but only one works at a time."""
    labels = {**SELECTOR, "app.kubernetes.io/part-of": "gitward", "app.kubernetes.io/component": "controller"}
    container = {
        "name": "controller",
        "image": image,
        "args": ["controller", *LOG_ARGS],
        "env": _env(compat_argocd),
        "ports": [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "readinessProbe": probe("/readyz", period=10, initial_delay=5),
        "livenessProbe": probe("/healthz", period=20, initial_delay=15),
        # Memory is set from the 1,000-app target (under 250 MiB steady); renders of big charts peak higher.
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": copy.deepcopy(CONTAINER_SECURITY),
        "volumeMounts": copy.deepcopy(VOLUME_MOUNTS),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": CONTROLLER, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": CONTROLLER,
                    "securityContext": copy.deepcopy(POD_SECURITY),
                    "containers": [container],
                    "volumes": copy.deepcopy(VOLUMES),
                },
            },
        },
    }
