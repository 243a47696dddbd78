"""What `gitward install` prints: least-privilege RBAC and a locked-down controller Deployment."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import yaml

from gitward.install import InstallOptions, manifests
from gitward.install.rbac import AGGREGATE_LABEL


def _by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def _grants(rule: dict[str, Any], group: str, resource: str) -> bool:
    return (group in rule["apiGroups"] or "*" in rule["apiGroups"]) and (
        resource in rule["resources"] or "*" in rule["resources"]
    )


def test_no_cluster_role_grants_secrets_only_the_namespace_role_does() -> None:
    objects = manifests(InstallOptions(compat_argocd=True, server=False))
    for role in _by_kind(objects, "ClusterRole"):
        for rule in role.get("rules", []):
            assert not _grants(rule, "", "secrets"), role["metadata"]["name"]
    (role,) = _by_kind(objects, "Role")
    assert role["metadata"]["namespace"] == "gitward"
    assert any(_grants(rule, "", "secrets") for rule in role["rules"])
    assert any(_grants(rule, "coordination.k8s.io", "leases") for rule in role["rules"])


def test_the_bound_cluster_role_aggregates_the_labelled_ones() -> None:
    objects = manifests(InstallOptions(server=False))
    (binding,) = _by_kind(objects, "ClusterRoleBinding")
    bound = binding["roleRef"]["name"]
    (aggregated,) = [r for r in _by_kind(objects, "ClusterRole") if r["metadata"]["name"] == bound]
    selector = aggregated["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
    assert selector == {AGGREGATE_LABEL: "true"}
    gathered = [r for r in _by_kind(objects, "ClusterRole") if r is not aggregated]
    assert gathered and all(r["metadata"]["labels"][AGGREGATE_LABEL] == "true" for r in gathered)
    # The compat role is installed only in compat mode.
    names = {r["metadata"]["name"] for r in _by_kind(objects, "ClusterRole")}
    compat = {
        r["metadata"]["name"]
        for r in _by_kind(manifests(InstallOptions(compat_argocd=True, server=False)), "ClusterRole")
    }
    assert compat - names == {"gitward-controller-argocd-api"}


def test_namespace_and_image_reach_every_object_that_names_them() -> None:
    objects = manifests(InstallOptions(namespace="ops", image="registry.local/gitward:dev", server=False))
    assert _by_kind(objects, "Namespace")[0]["metadata"]["name"] == "ops"
    for obj in objects:
        if obj["kind"] in ("ServiceAccount", "Role", "RoleBinding", "Deployment"):
            assert obj["metadata"]["namespace"] == "ops"
    for binding in _by_kind(objects, "ClusterRoleBinding") + _by_kind(objects, "RoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "gitward-controller", "namespace": "ops"}
        ]
    (deployment,) = _by_kind(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.local/gitward:dev"
    assert container["args"] == ["controller", "--log-format", "json"]


def test_the_deployments_arguments_are_ones_gitward_controller_accepts() -> None:
    (deployment,) = _by_kind(manifests(InstallOptions(server=False)), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # A usage error exits 2 before anything else; these get as far as looking for the cluster.
    command = [sys.executable, "-m", "gitward", *container["args"], "--kubeconfig", "/nonexistent/kubeconfig"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "/nonexistent/kubeconfig" in proc.stderr


def test_the_controller_runs_locked_down_with_probes_and_requests() -> None:
    (deployment,) = _by_kind(manifests(InstallOptions(compat_argocd=True, server=False)), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    env = {e["name"]: e for e in container["env"]}
    assert env["GITWARD_COMPAT"]["value"] == "argocd"
    assert env["GITWARD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    # Every path the controller writes is a volume, since the root file system is read-only.
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {env["GITWARD_CACHE"]["value"], env["HOME"]["value"]} <= mounts


def test_the_command_prints_yaml_or_json_in_apply_order() -> None:
    run = [sys.executable, "-m", "gitward", "install", "--namespace", "ops"]
    printed = list(yaml.safe_load_all(subprocess.run(run, capture_output=True, text=True, check=True).stdout))
    assert printed == manifests(InstallOptions(namespace="ops"))
    kinds = [o["kind"] for o in printed]
    assert kinds.index("CustomResourceDefinition") < kinds.index("Namespace") < kinds.index("Deployment")

    crds_only = subprocess.run(
        [*run, "--crds-only", "-o", "json"], capture_output=True, text=True, check=True
    )
    listed = json.loads(crds_only.stdout)
    assert {o["kind"] for o in listed["items"]} == {"CustomResourceDefinition"}


def test_apply_without_a_cluster_fails_in_one_line() -> None:
    command = [
        sys.executable,
        "-m",
        "gitward",
        "install",
        "--apply",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "gitward: kubeconfig /nonexistent/kubeconfig: Configuration file /nonexistent/kubeconfig not found"
    ]
