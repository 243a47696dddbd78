"""`gitward install --apply` against the real local cluster: CRDs, schema validation, compat mode, RBAC.

kwok runs the installed pods without containers, so the RBAC tests run the
real processes outside the cluster with the installed ServiceAccounts' tokens.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitward.controller.run import Controller
from gitward.model.application import Application
from tests.e2e.support import app_status, until
from tests.e2e.support import application as shop_application
from tests.helpers import Cluster, eventually
from tests.server.conftest import client, free_port, until_async
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
TOKEN_CREATE = [sys.executable, "-m", "gitward", "token", "create"]
Install = Callable[..., str]


def seed_path() -> Path:
    """CI has a read-only copy of shared/ beside the clone; elsewhere the committed copy is identical."""
    shared = REPO.parent / "shared" / "examples" / "seed-application.yaml"
    return shared if shared.is_file() else Path(__file__).parent / "data" / "seed-application.yaml"


@pytest.fixture
def install(cluster: Cluster, namespace: str) -> Iterator[Install]:
    """Run `gitward install --apply` into the test's namespace; its cluster-wide binding is removed after."""

    def run(*args: str) -> str:
        command = [sys.executable, "-m", "gitward", "install", "--apply", "-n", namespace]
        command += ["--kubeconfig", str(cluster.kubeconfig), *args]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    yield run
    for account in ("gitward-controller", "gitward-server"):
        cluster.kubectl("delete", "clusterrolebinding", f"{account}-{namespace}", check=False)
    policy = f"gitward-server-dry-runs-{namespace}"
    for kind in ("validatingadmissionpolicybinding", "validatingadmissionpolicy"):
        cluster.kubectl("delete", kind, policy, "--ignore-not-found", check=False)


def application(namespace: str, name: str = "web", **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "source": {"repoURL": "https://example.com/org/repo.git", "path": "deploy"},
            **spec,
        },
    }


def available(cluster: Cluster, namespace: str, deployment: str) -> int | None:
    status = cluster.get_json("deployment", deployment, "-n", namespace).get("status", {})
    return status.get("availableReplicas")  # type: ignore[no-any-return]


def test_install_applies_everything_and_is_repeatable(
    cluster: Cluster, namespace: str, install: Install
) -> None:
    printed = install()
    assert "customresourcedefinition/applications.gitward.dev applied" in printed
    assert "deployment/gitward-controller applied" in printed
    assert "deployment/gitward-server applied" in printed and "service/gitward-server applied" in printed
    for crd in ("applications.gitward.dev", "appprojects.gitward.dev"):
        conditions = cluster.get_json("crd", crd)["status"]["conditions"]
        assert any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
    # kwok runs the pod (no container), so the Deployment's spec was accepted and scheduled as written.
    for name in ("gitward-controller", "gitward-server"):
        eventually(
            functools.partial(available, cluster, namespace, name), what=f"deployment/{name} available"
        )
    endpoints = cluster.get_json(
        "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=gitward-server"
    )
    assert [p["port"] for s in endpoints["items"] for p in s.get("ports") or []] == [8081]
    assert "gitward-controller applied" in install()


def test_kubectl_shows_sync_health_revision_and_age(
    cluster: Cluster, namespace: str, install: Install
) -> None:
    install()
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace)))
    status = {
        "status": {"sync": {"status": "Synced", "revision": "8c2e1f0"}, "health": {"status": "Healthy"}}
    }
    cluster.kubectl(
        "patch", "applications.gitward.dev", "web", "-n", namespace,
        "--subresource=status", "--type=merge", "-p", json.dumps(status),
    )  # fmt: skip
    header, row = cluster.kubectl("get", "applications.gitward.dev", "-n", namespace).splitlines()
    assert header.split() == ["NAME", "SYNC", "HEALTH", "REVISION", "AGE"]
    assert row.split()[:4] == ["web", "Synced", "Healthy", "8c2e1f0"]
    # The short name reaches the same objects.
    assert "web" in cluster.kubectl("get", "app.gitward.dev", "-n", namespace, "-o", "name")


def test_the_api_server_refuses_a_wrong_typed_field_naming_it(
    cluster: Cluster, namespace: str, install: Install
) -> None:
    install()
    bad = application(namespace, syncPolicy={"automated": {"prune": "yes"}, "retry": {"limit": -7}})
    with pytest.raises(AssertionError) as refused:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(bad))
    message = str(refused.value)
    assert "spec.syncPolicy.automated.prune" in message and "boolean" in message
    assert "spec.syncPolicy.retry.limit" in message
    with pytest.raises(AssertionError, match=r'unknown field "spec.syncPolicy.automatic"'):
        cluster.kubectl(
            "apply", "-f", "-", stdin=json.dumps(application(namespace, syncPolicy={"automatic": {}}))
        )
    both = application(
        namespace, destination={"server": "https://kubernetes.default.svc", "name": "in-cluster"}
    )
    with pytest.raises(
        AssertionError, match=r"spec.destination: Invalid value.*set server or name, not both"
    ):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(both))
    neither = application(namespace)
    del neither["spec"]["source"]  # type: ignore[attr-defined]
    with pytest.raises(AssertionError, match="set either source or sources"):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(neither))
    assert cluster.kubectl("get", "applications.gitward.dev", "-n", namespace, "-o", "name") == ""


def test_compat_mode_accepts_the_argo_cd_seed_unchanged(
    cluster: Cluster, namespace: str, install: Install
) -> None:
    printed = install("--compat", "argocd")
    assert "customresourcedefinition/applications.argoproj.io" in printed
    seed = seed_path().read_text(encoding="utf-8")
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=seed)
    original = yaml.safe_load(seed)
    live = cluster.get_json("applications.argoproj.io", original["metadata"]["name"], "-n", namespace)
    assert live["spec"] == original["spec"], "the API server pruned or changed part of the seed"
    parsed = Application.from_dict(live)
    assert parsed.compat
    assert parsed.spec == Application.from_dict(original).spec
    assert (
        parsed.spec.automated is not None and parsed.spec.automated.prune and parsed.spec.automated.self_heal
    )


def test_compat_mode_leaves_argo_cds_own_crd_alone(cluster: Cluster, install: Install) -> None:
    install("--compat", "argocd")
    # Without our label the CRD looks like one Argo CD installed; its schema must not be replaced.
    cluster.kubectl("label", "crd", "applications.argoproj.io", "app.kubernetes.io/part-of-")
    try:
        printed = install("--compat", "argocd")
        assert "customresourcedefinition/applications.argoproj.io exists and is not gitward's" in printed
        assert "customresourcedefinition/appprojects.argoproj.io applied" in printed
        labels = cluster.get_json("crd", "applications.argoproj.io")["metadata"].get("labels", {})
        assert "app.kubernetes.io/part-of" not in labels
    finally:
        cluster.kubectl("label", "crd", "applications.argoproj.io", "app.kubernetes.io/part-of=gitward")


@pytest.fixture
def target(cluster: Cluster) -> Iterator[str]:
    """A second namespace, outside the install's: where apps deploy."""
    name = f"t-{secrets.token_hex(4)}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def elsewhere(cluster: Cluster, target: str) -> str:
    """A namespace outside the install's, holding a Deployment and a Secret."""
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "-n", target)
    cluster.kubectl("create", "secret", "generic", "db", "--from-literal=password=hunter22", "-n", target)
    return target


def test_the_service_account_has_least_privilege(
    cluster: Cluster, namespace: str, install: Install, elsewhere: str
) -> None:
    install()
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace)))
    cluster.kubectl(
        "create", "secret", "generic", "repo-creds", "--from-literal=url=https://x", "-n", namespace
    )
    token = cluster.kubectl("create", "token", "gitward-controller", "-n", namespace).strip()
    apps = "/apis/gitward.dev/v1alpha1/applications"
    with cluster.http(token) as http:
        listed = http.get(apps)
        assert listed.status_code == 200, listed.text
        assert [i["metadata"]["name"] for i in listed.json()["items"]] == ["web"]
        with http.stream("GET", apps, params={"watch": "1", "timeoutSeconds": "1"}) as watch:
            assert watch.status_code == 200
        deployment = http.get(f"/apis/apps/v1/namespaces/{elsewhere}/deployments/web")
        assert deployment.status_code == 200, deployment.text
        # Repository and cluster credentials: readable in its own namespace only.
        assert http.get(f"/api/v1/namespaces/{namespace}/secrets/repo-creds").status_code == 200
        assert http.get(f"/api/v1/namespaces/{elsewhere}/secrets/db").status_code == 403
        assert http.get("/api/v1/secrets").status_code == 403
        # It writes what apps usually deploy, and not Secrets elsewhere.
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
        assert http.post(f"/api/v1/namespaces/{elsewhere}/configmaps", json=config_map).status_code == 201
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
        assert http.post(f"/api/v1/namespaces/{elsewhere}/secrets", json=secret).status_code == 403
        # Leader election's Lease lives in its own namespace.
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "gitward"}}
        leases = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        assert http.post(leases, json=lease).status_code == 201
        other_leases = f"/apis/coordination.k8s.io/v1/namespaces/{elsewhere}/leases"
        assert http.post(other_leases, json=lease).status_code == 403


def test_the_printed_manifests_pass_the_api_servers_dry_run(cluster: Cluster, namespace: str) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "gitward", "install", "-n", namespace],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answer = cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=printed)
    assert "deployment.apps/gitward-server serverside-applied (server dry run)" in answer
    assert "clusterrole.rbac.authorization.k8s.io/gitward-server-diff serverside-applied" in answer
    policy = f"gitward-server-dry-runs-{namespace} serverside-applied"
    assert f"validatingadmissionpolicy.admissionregistration.k8s.io/{policy}" in answer
    assert f"validatingadmissionpolicybinding.admissionregistration.k8s.io/{policy}" in answer
    without = subprocess.run(
        [sys.executable, "-m", "gitward", "install", "-n", namespace, "--no-server"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "gitward-controller" in without and "gitward-server" not in without


def service_account_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount, as its pod's mounted token would."""
    token = cluster.kubectl("create", "token", account, "-n", namespace).strip()
    ca = str(cluster.state.layout.pki.ca_cert)
    config = f"--kubeconfig={path}"
    cluster.kubectl(
        "config", config, "set-cluster", "c", f"--server={cluster.server}", f"--certificate-authority={ca}"
    )
    cluster.kubectl("config", config, "set-credentials", account, f"--token={token}")
    cluster.kubectl("config", config, "set-context", "c", "--cluster=c", f"--user={account}")
    cluster.kubectl("config", config, "use-context", "c")
    return path


@pytest.fixture
async def server_as_account(
    cluster: Cluster, namespace: str, install: Install, tmp_path: Path
) -> AsyncIterator[str]:
    """`gitward server` after `gitward install`, as the gitward-server ServiceAccount; yields its URL."""
    install()
    kubeconfig = service_account_kubeconfig(
        cluster, namespace, "gitward-server", tmp_path / "server.kubeconfig"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["GITWARD_CACHE"] = str(tmp_path / "server-cache")
    command = [sys.executable, "-m", "gitward", "server", "--kubeconfig", str(kubeconfig)]
    command += ["-n", namespace, "--port", str(port)]
    with (tmp_path / "server.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:

        async def ready() -> bool:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                async with client(url) as probe:
                    return (await probe.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await until_async(ready, timeout=120, what="the server, as its ServiceAccount, to list Applications")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def can_i(cluster: Cluster, namespace: str, verb: str, resource: str, where: str) -> bool:
    account = f"system:serviceaccount:{namespace}:gitward-server"
    answer = cluster.kubectl("auth", "can-i", verb, resource, "-n", where, f"--as={account}", check=False)
    return answer.strip() == "yes"


async def test_the_server_does_its_work_with_its_service_account_and_no_more(
    cluster: Cluster,
    namespace: str,
    target: str,
    repo: tuple[str, Upstream],
    controller: Controller,
    server_as_account: str,
) -> None:
    url, _ = repo
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(shop_application(namespace, target, url)))

    def synced() -> bool:
        status = app_status(cluster, namespace, "shop")
        kinds = {r["kind"] for r in status.get("resources") or []}
        return status.get("sync", {}).get("status") == "Synced" and kinds == {"ConfigMap", "Deployment"}

    await until(synced, timeout=120, what="the controller to sync shop")
    # RBAC grants `patch` for the diff's dry runs; the install's policy refuses the same patch for real.
    account = cluster.kubectl("create", "token", "gitward-server", "-n", namespace).strip()
    web = f"/apis/apps/v1/namespaces/{target}/deployments/web"
    mark = {"metadata": {"annotations": {"example.com/intruder": "yes"}}}
    merge = {"Content-Type": "application/merge-patch+json"}
    with cluster.http(account) as http:
        real = http.patch(web, json=mark, headers=merge)
        assert real.status_code == 403, real.text
        assert "may write only Applications" in real.json()["message"]
        dry = http.patch(web, params={"dryRun": "All"}, json=mark, headers=merge)
        assert dry.status_code == 200, dry.text
        assert dry.json()["metadata"]["annotations"]["example.com/intruder"] == "yes"
    live = cluster.get_json("deployment", "web", "-n", target)["metadata"].get("annotations") or {}
    assert "example.com/intruder" not in live
    made = subprocess.run(
        [*TOKEN_CREATE, "ops", "--role", "admin", "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    base = f"/api/v1/applications/{namespace}/shop"
    async with client(server_as_account, made.stdout.strip()) as api:
        listed = await api.get("/api/v1/applications")
        assert [i["metadata"]["name"] for i in listed.json()["items"]] == ["shop"], listed.text
        assert (await api.get(base)).json()["spec"]["destination"]["namespace"] == target

        async def tree_kinds() -> set[str]:
            answer = await api.get(f"{base}/resource-tree")
            assert answer.status_code == 200, answer.text
            nodes: list[dict[str, Any]] = answer.json()["nodes"]
            return {n["kind"] for n in nodes if (n.get("health") or {}).get("status") != "Missing"}

        # Children are listed across namespaces: Deployment -> ReplicaSet -> Pods, made by kube's controllers.
        async def whole_tree() -> bool:
            return {"ConfigMap", "Deployment", "ReplicaSet", "Pod"} <= await tree_kinds()

        await until_async(whole_tree, what="the resource tree down to the Pods")
        events = await api.get(f"{base}/events")
        assert events.status_code == 200 and events.json()["items"], events.text
        # A diff is a server-side apply dry run of every object: it needs the `patch` the install grants.
        diff = await api.get(f"{base}/diff")
        assert diff.status_code == 200, diff.text
        assert [(r["kind"], r["error"], r["status"]) for r in diff.json()["resources"]] == [
            ("ConfigMap", None, "Synced"),
            ("Deployment", None, "Synced"),
        ]
        assert len((await api.get(f"{base}/manifests")).json()["manifests"]) == 2

        # Applications are the exception: the server's own account patches them for real.
        refreshed = await api.post(f"{base}/refresh", json={"hard": True})
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["metadata"]["annotations"]["gitward.dev/refresh"] == "hard"

        async def sync_written() -> bool:
            answer = await api.post(f"{base}/sync", json={"prune": True})
            if answer.status_code == 409:  # the controller is busy with the refresh's pass
                return False
            assert answer.status_code == 200, answer.text
            operation = answer.json()["operation"]
            return bool(operation["sync"]["prune"] and operation["initiatedBy"]["username"] == "ops")

        await until_async(sync_written, what="the sync request to be written")

    # What it does not do, it may not do: no writes but patches, no Secrets outside its namespace.
    assert can_i(cluster, namespace, "patch", "applications.gitward.dev", target)
    assert can_i(cluster, namespace, "list", "secrets", namespace)
    assert not can_i(cluster, namespace, "create", "deployments", target)
    assert not can_i(cluster, namespace, "delete", "deployments", target)
    assert not can_i(cluster, namespace, "update", "appprojects.gitward.dev", namespace)
    assert not can_i(cluster, namespace, "get", "secrets", target)
    assert not can_i(cluster, namespace, "create", "secrets", namespace)
    with cluster.http(account) as http:
        assert http.get(f"/api/v1/namespaces/{target}/configmaps/settings").status_code == 200
        config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "intruder"}}
        assert http.post(f"/api/v1/namespaces/{target}/configmaps", json=config_map).status_code == 403
        assert http.delete(f"/apis/apps/v1/namespaces/{target}/deployments/web").status_code == 403
