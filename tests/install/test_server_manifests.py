"""What `gitward install` prints for the API server: only the verbs it uses, and a Deployment that starts."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import cel

from gitward.install import InstallOptions, manifests
from gitward.install.rbac import SERVER_AGGREGATE_LABEL


def _server_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules the aggregated gitward-server ClusterRole gets, as the controller-manager fills it in."""
    labelled = [
        o
        for o in objects
        if o["kind"] == "ClusterRole" and o["metadata"]["labels"].get(SERVER_AGGREGATE_LABEL) == "true"
    ]
    return [rule for role in labelled for rule in role["rules"]]


def test_cluster_wide_the_server_reads_and_only_patches_except_deleting_applications() -> None:
    rules = _server_rules(manifests(InstallOptions(compat_argocd=True)))
    assert rules
    for rule in rules:
        writes = set(rule["verbs"]) - {"get", "list", "watch"}
        assert "secrets" not in rule["resources"]
        if rule["apiGroups"] in (["gitward.dev"], ["argoproj.io"]) and rule["resources"] == ["applications"]:
            assert writes == {"patch", "delete"}
        else:
            assert writes <= {"patch"}, rule
    patched = {
        (g, r)
        for rule in rules
        if "patch" in rule["verbs"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert ("argoproj.io", "applications") in patched and ("apps", "deployments") in patched
    assert ("gitward.dev", "appprojects") not in patched


def test_secrets_are_read_in_the_servers_namespace_only() -> None:
    objects = manifests(InstallOptions(namespace="ops"))
    (role,) = [o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == "gitward-server"]
    assert role["metadata"]["namespace"] == "ops"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]
    bindings = [
        o
        for o in objects
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding") and o["roleRef"]["name"] == "gitward-server"
    ]
    assert {b["kind"] for b in bindings} == {"RoleBinding", "ClusterRoleBinding"}
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "gitward-server", "namespace": "ops"}
        ]


def test_no_server_leaves_every_server_object_out() -> None:
    with_server = manifests(InstallOptions())
    without = manifests(InstallOptions(server=False))
    assert {o["metadata"]["name"] for o in with_server} - {o["metadata"]["name"] for o in without} == {
        "gitward-server",
        "gitward-server-api",
        "gitward-server-diff",
        "gitward-server-gitward",
        "gitward-server-dry-runs-gitward",
    }
    assert {o["kind"] for o in with_server} - {o["kind"] for o in without} == {
        "Service",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }


def _request(username: str, dry_run: bool) -> cel.Context:
    return cel.Context(variables={"request": {"userInfo": {"username": username}, "dryRun": dry_run}})


def test_the_policy_refuses_the_servers_real_writes_except_to_applications() -> None:
    objects = manifests(InstallOptions(namespace="ops"))
    (policy,) = [o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"]
    (binding,) = [o for o in objects if o["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    assert "ops" in policy["metadata"]["name"]
    spec = policy["spec"]
    (only_the_server,) = spec["matchConditions"]
    server, other = "system:serviceaccount:ops:gitward-server", "system:serviceaccount:shop:gitward-server"
    assert cel.evaluate(only_the_server["expression"], _request(server, False)) is True
    assert cel.evaluate(only_the_server["expression"], _request(other, False)) is False
    (validation,) = spec["validations"]
    assert cel.evaluate(validation["expression"], _request(server, True)) is True
    assert cel.evaluate(validation["expression"], _request(server, False)) is False
    (every,) = spec["matchConstraints"]["resourceRules"]
    assert every["resources"] == ["*/*"] and every["apiGroups"] == ["*"]
    assert {"CREATE", "UPDATE", "DELETE"} <= set(every["operations"])
    (excluded,) = spec["matchConstraints"]["excludeResourceRules"]
    assert excluded["resources"] == ["applications"]
    assert set(excluded["apiGroups"]) == {"gitward.dev", "argoproj.io"}


def test_the_deployment_serves_on_the_port_its_probes_and_service_use() -> None:
    objects = manifests(InstallOptions(compat_argocd=True))
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gitward-server"
    ]
    (service,) = [o for o in objects if o["kind"] == "Service"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["serviceAccountName"] == "gitward-server"
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (exposed,) = service["spec"]["ports"]
    assert ports[exposed["targetPort"]] == int(container["args"][container["args"].index("--port") + 1])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": exposed["targetPort"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": exposed["targetPort"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GITWARD_COMPAT"] == "argocd"
    assert {env["GITWARD_CACHE"], env["HOME"]} <= {m["mountPath"] for m in container["volumeMounts"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_deployments_arguments_are_ones_gitward_server_accepts() -> None:
    (deployment,) = [
        o
        for o in manifests(InstallOptions())
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "gitward-server"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # A usage error exits 2 before anything else; these get as far as looking for the cluster.
    command = [sys.executable, "-m", "gitward", *container["args"], "--kubeconfig", "/nonexistent/kubeconfig"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "/nonexistent/kubeconfig" in proc.stderr
