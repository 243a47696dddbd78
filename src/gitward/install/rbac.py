"""What the controller's ServiceAccount may do: read for diffs, write what apps usually deploy.

Argo CD's default install binds its controller to a cluster-admin-like role.
gitward grants less, and lets the cluster's owner grant more, one kind at a
time, without editing the install:

- `gitward-controller` is an aggregated ClusterRole: it holds the rules of
  every ClusterRole labelled `gitward.dev/aggregate-to-controller: "true"`.
- the install labels three: its own API types, reading the built-in kinds
  (everything but Secrets, which RBAC cannot grant "all but"), and writing
  the common workload kinds;
- an app that deploys other kinds (Secrets, CRDs, ClusterRoles, an
  operator's custom resources) needs one more labelled ClusterRole naming
  them; RBAC's escalation check still keeps gitward from granting a Role
  more than it holds itself.
- Secrets (repository and cluster credentials), Leases (leader election)
  and Events are granted by a Role in the install's namespace only.

The read role also carries `gitward.dev/aggregate-to-server`: the API
server (`gitward.install.server`) reads what the controller reads.
"""

from __future__ import annotations

from typing import Any

from gitward.model.application import ARGOCD_GROUP, GROUP

AGGREGATE_LABEL = "gitward.dev/aggregate-to-controller"
SERVER_AGGREGATE_LABEL = "gitward.dev/aggregate-to-server"
CONTROLLER = "gitward-controller"
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]

# Core kinds readable cluster-wide: every one of them except secrets.
_CORE_READ = [
    "configmaps",
    "endpoints",
    "events",
    "limitranges",
    "namespaces",
    "nodes",
    "persistentvolumeclaims",
    "persistentvolumes",
    "pods",
    "podtemplates",
    "replicationcontrollers",
    "resourcequotas",
    "serviceaccounts",
    "services",
]
# Built-in groups with no Secret-like kind, readable whole.
_GROUPS_READ = [
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
]
# What a typical app deploys; anything else is granted through the aggregation label.
WORKLOAD_WRITE: dict[str, list[str]] = {
    "": [
        "configmaps",
        "limitranges",
        "namespaces",
        "persistentvolumeclaims",
        "resourcequotas",
        "serviceaccounts",
        "services",
    ],
    "apps": ["daemonsets", "deployments", "replicasets", "statefulsets"],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["cronjobs", "jobs"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "policy": ["poddisruptionbudgets"],
    "rbac.authorization.k8s.io": ["rolebindings", "roles"],
}


def meta(
    name: str, namespace: str | None = None, aggregate_to: tuple[str, ...] = (), component: str = "controller"
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": "gitward", "app.kubernetes.io/component": component}
    labels.update(dict.fromkeys(aggregate_to, "true"))
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def cluster_role(
    name: str,
    rules: list[dict[str, Any]],
    aggregate_to: tuple[str, ...] = (AGGREGATE_LABEL,),
    component: str = "controller",
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name, aggregate_to=aggregate_to, component=component),
        "rules": rules,
    }


def _api_types_rules(group: str) -> list[dict[str, Any]]:
    return [
        {
            "apiGroups": [group],
            "resources": ["applications", "applications/status", "applications/finalizers", "appprojects"],
            "verbs": [*READ, "update", "patch"],
        }
    ]


def aggregated_role(metadata: dict[str, Any], label: str) -> dict[str, Any]:
    """A ClusterRole made of every ClusterRole labelled `label: "true"`.

    It has no rules of its own: the controller-manager fills them in from the
    labelled roles, and an applied `rules: []` would be owned by the installer
    and reset on every re-install.
    """
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": metadata,
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]},
    }


def cluster_roles(compat_argocd: bool) -> list[dict[str, Any]]:
    """The aggregated role and the labelled roles it gathers; shared by every install in a cluster."""
    aggregated = aggregated_role(meta(CONTROLLER), AGGREGATE_LABEL)
    roles = [
        aggregated,
        cluster_role(f"{CONTROLLER}-api", _api_types_rules(GROUP)),
        cluster_role(
            f"{CONTROLLER}-read",
            [
                {"apiGroups": [""], "resources": _CORE_READ, "verbs": READ},
                {"apiGroups": _GROUPS_READ, "resources": ["*"], "verbs": READ},
            ],
            # The API server's tree and diff read the same kinds: one role to widen for both.
            aggregate_to=(AGGREGATE_LABEL, SERVER_AGGREGATE_LABEL),
        ),
        cluster_role(
            f"{CONTROLLER}-write",
            [
                {"apiGroups": [group], "resources": resources, "verbs": WRITE}
                for group, resources in WORKLOAD_WRITE.items()
            ],
        ),
    ]
    if compat_argocd:
        roles.append(cluster_role(f"{CONTROLLER}-argocd-api", _api_types_rules(ARGOCD_GROUP)))
    return roles


def service_account(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(CONTROLLER, namespace)}


def binding_name(namespace: str, account: str = CONTROLLER) -> str:
    """One ClusterRoleBinding per install, so two namespaces can each run a gitward."""
    return f"{account}-{namespace}"


def bindings(
    namespace: str, account: str = CONTROLLER, component: str = "controller"
) -> list[dict[str, Any]]:
    """The account's ClusterRole and Role, each named after it, bound to it."""
    subject = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta(binding_name(namespace, account), component=component),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": account},
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(account, namespace, component=component),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": subject,
        },
    ]


def namespace_role(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(CONTROLLER, namespace),
        "rules": [
            # Repository and cluster credentials are labelled Secrets in this namespace only.
            {"apiGroups": [""], "resources": ["secrets"], "verbs": READ},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": [*READ, *WRITE]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        ],
    }
