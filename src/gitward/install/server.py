"""The API server in the cluster: its ServiceAccount, RBAC and dry-run policy, Deployment and Service.

What `gitward server` does with the cluster, and so all it is granted:

- Applications (every namespace: its index watches cluster-wide): read and
  watch, patch (sync, rollback and refresh are merge patches that the
  controller acts on; a delete first patches the finalizer) and delete.
  AppProjects: read.
- What an app's resource tree, events and diff read: the controller's read
  role (every built-in kind but Secrets), shared through the
  `gitward.dev/aggregate-to-server` label, so one ClusterRole widens both.
- `patch` on the kinds the controller writes, and nothing else: a diff is a
  server-side apply dry run, and the API server authorises a dry run as the
  write it simulates. It has no create, update or delete on them.
- Secrets in its own namespace only, read-only: the token and webhook
  Secrets, and repository credentials for rendering. `gitward token create`
  writes the token Secret with its caller's own credentials, not the server's.
- A ValidatingAdmissionPolicy keeps that `patch` a dry run: RBAC cannot tell
  a dry run from a write, admission can. It refuses every write by this
  ServiceAccount that is not a dry run, on every kind but Applications (so
  also on kinds a labelled ClusterRole grants it later).

The Deployment runs the same image as the controller; its contract is again
environment variables (GITWARD_NAMESPACE, GITWARD_CACHE, GITWARD_COMPAT) plus
the two flags every version of `gitward server` has, --host and --port.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gitward.install import controller
from gitward.install.rbac import (
    READ,
    SERVER_AGGREGATE_LABEL,
    WORKLOAD_WRITE,
    aggregated_role,
    bindings,
    cluster_role,
    meta,
)
from gitward.model.application import ARGOCD_GROUP, GROUP

SERVER = "gitward-server"
PORT = 8081
SELECTOR = {"app.kubernetes.io/name": SERVER}
_COMPONENT = "server"
_TO_SERVER = (SERVER_AGGREGATE_LABEL,)


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    return meta(name, namespace, component=_COMPONENT)


def _api_rules(group: str) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [group], "resources": ["applications"], "verbs": [*READ, "patch", "delete"]},
        {"apiGroups": [group], "resources": ["appprojects"], "verbs": READ},
    ]


def cluster_roles(compat_argocd: bool) -> list[dict[str, Any]]:
    """The aggregated role and its labelled parts (the read part is the controller's, labelled for both)."""
    aggregated = aggregated_role(_meta(SERVER), SERVER_AGGREGATE_LABEL)
    dry_run = [
        {"apiGroups": [group], "resources": resources, "verbs": ["patch"]}
        for group, resources in WORKLOAD_WRITE.items()
    ]
    roles = [
        aggregated,
        cluster_role(f"{SERVER}-api", _api_rules(GROUP), _TO_SERVER, _COMPONENT),
        cluster_role(f"{SERVER}-diff", dry_run, _TO_SERVER, _COMPONENT),
    ]
    if compat_argocd:
        roles.append(cluster_role(f"{SERVER}-argocd-api", _api_rules(ARGOCD_GROUP), _TO_SERVER, _COMPONENT))
    return roles


def rbac(namespace: str, compat_argocd: bool) -> list[dict[str, Any]]:
    """ServiceAccount, roles and bindings, in the order the apiserver accepts them."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(SERVER, namespace),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": READ}],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(SERVER, namespace)},
        *cluster_roles(compat_argocd),
        role,
        *bindings(namespace, SERVER, _COMPONENT),
    ]


def dry_run_policy(namespace: str) -> list[dict[str, Any]]:
    """The policy and its binding, one pair per install namespace (they are cluster-scoped)."""
    name = f"{SERVER}-dry-runs-{namespace}"
    account = f"system:serviceaccount:{namespace}:{SERVER}"
    writes = ["CREATE", "UPDATE", "DELETE"]  # a PATCH is admitted as an UPDATE, or a CREATE when applied anew
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": _meta(name),
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"], "operations": writes}
                ],
                # Sync, rollback, refresh and delete really write Applications.
                "excludeResourceRules": [
                    {
                        "apiGroups": [GROUP, ARGOCD_GROUP],
                        "apiVersions": ["*"],
                        "resources": ["applications"],
                        "operations": list(writes),  # a copy: a shared list is dumped as a YAML alias
                    }
                ],
            },
            # Every other account's requests skip the validation at the cost of one comparison.
            "matchConditions": [
                {
                    "name": "gitward-server",
                    "expression": f"request.userInfo.username == {json.dumps(account)}",
                }
            ],
            "validations": [
                {
                    "expression": "request.dryRun == true",
                    "reason": "Forbidden",
                    "message": (
                        f"{SERVER} may write only Applications; anything else only as a dry run"
                        " (its diffs), and this request was not one"
                    ),
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": _meta(name),
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]


def _env(compat_argocd: bool) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "GITWARD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "GITWARD_CACHE", "value": controller.CACHE},
        {"name": "HOME", "value": controller.TMP},
    ]
    if compat_argocd:
        env.append({"name": "GITWARD_COMPAT", "value": "argocd"})
    return env


def deployment(namespace: str, image: str, compat_argocd: bool) -> dict[str, Any]:
    """One replica: it holds no lock, so more may run behind the Service (each keeps its own index)."""
    labels = {**SELECTOR, "app.kubernetes.io/part-of": "gitward", "app.kubernetes.io/component": _COMPONENT}
    container = {
        "name": "server",
        "image": image,
        # Every interface: the Service, not the process, decides who may connect.
        "args": ["server", "--host", "0.0.0.0", "--port", str(PORT), *controller.LOG_ARGS],  # noqa: S104
        "env": _env(compat_argocd),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": controller.probe("/readyz", period=10, initial_delay=5, port="http"),
        "livenessProbe": controller.probe("/healthz", period=20, initial_delay=15, port="http"),
        # It holds every app's summary (a few KiB each) and renders one app at a time for a diff.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": copy.deepcopy(controller.CONTAINER_SECURITY),
        "volumeMounts": copy.deepcopy(controller.VOLUME_MOUNTS),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": SERVER, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": SERVER,
                    "securityContext": copy.deepcopy(controller.POD_SECURITY),
                    "containers": [container],
                    "volumes": copy.deepcopy(controller.VOLUMES),
                },
            },
        },
    }


def service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(SERVER, namespace),
        "spec": {
            "selector": dict(SELECTOR),
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def objects(namespace: str, image: str, compat_argocd: bool) -> list[dict[str, Any]]:
    return [
        *rbac(namespace, compat_argocd),
        # In force before the Deployment starts.
        *dry_run_policy(namespace),
        deployment(namespace, image, compat_argocd),
        service(namespace),
    ]
