"""`gitward install --apply` against the real local cluster: CRDs, schema validation, compat mode, RBAC."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from gitward.model.application import Application
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
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
    cluster.kubectl("delete", "clusterrolebinding", f"gitward-controller-{namespace}", check=False)


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


def test_install_applies_everything_and_is_repeatable(
    cluster: Cluster, namespace: str, install: Install
) -> None:
    printed = install()
    assert "customresourcedefinition/applications.gitward.dev applied" in printed
    assert "deployment/gitward-controller applied" in printed
    for crd in ("applications.gitward.dev", "appprojects.gitward.dev"):
        conditions = cluster.get_json("crd", crd)["status"]["conditions"]
        assert any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
    # kwok runs the pod (no container), so the Deployment's spec was accepted and scheduled as written.
    eventually(
        lambda: (
            cluster.get_json("deployment", "gitward-controller", "-n", namespace)
            .get("status", {})
            .get("availableReplicas")
        ),
        what="the controller Deployment to be available",
    )
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
def elsewhere(cluster: Cluster) -> Iterator[str]:
    """A second namespace, outside the install's, holding a Deployment and a Secret."""
    name = f"t-{secrets.token_hex(4)}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "-n", name)
    cluster.kubectl("create", "secret", "generic", "db", "--from-literal=password=hunter22", "-n", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


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
