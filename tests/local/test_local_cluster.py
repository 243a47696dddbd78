"""The local control plane behaves like a real cluster: nodes, workloads, GC, namespaces, version."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from gitward.local import toolchain
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
"""

REPLICASET = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: orphan-maker
spec:
  replicas: 2
  selector:
    matchLabels: {app: rs}
  template:
    metadata:
      labels: {app: rs}
    spec:
      containers:
      - name: c
        image: registry.example/c:1.0
"""


def _ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


def _pods(cluster: Cluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.get_json("pods", "-n", namespace, "-l", selector)["items"]
    return items


def _running(cluster: Cluster, namespace: str, selector: str, count: int) -> list[dict[str, Any]] | None:
    """The pods, once exactly `count` of them are Running."""
    pods = _pods(cluster, namespace, selector)
    if len(pods) == count and all(p["status"].get("phase") == "Running" for p in pods):
        return pods
    return None


def test_nodes_are_ready(cluster: Cluster) -> None:
    nodes = cluster.get_json("nodes")["items"]
    assert len(nodes) == cluster.state.nodes == 2
    assert all(_ready(n) for n in nodes), [n["status"].get("conditions") for n in nodes]


def test_deployment_becomes_available_with_running_pods_on_kwok_nodes(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=DEPLOYMENT)
    cluster.kubectl("wait", "-n", namespace, "deployment/web", "--for=condition=Available", "--timeout=60s")

    kwok_nodes = {n["metadata"]["name"] for n in cluster.get_json("nodes", "-l", "type=kwok")["items"]}
    pods = eventually(lambda: _running(cluster, namespace, "app=web", 3), what="3 Running pods")
    assert {p["spec"]["nodeName"] for p in pods} <= kwok_nodes
    deployment = cluster.get_json("deployment/web", "-n", namespace)
    assert deployment["status"]["availableReplicas"] == 3


def test_deleting_a_namespace_completes(cluster: Cluster) -> None:
    doomed = f"doomed-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", doomed)
    cluster.kubectl("apply", "-n", doomed, "-f", "-", stdin=DEPLOYMENT)
    cluster.kubectl("create", "configmap", "settings", "-n", doomed, "--from-literal=a=b")
    eventually(lambda: len(_pods(cluster, doomed, "app=web")) == 3, what="pods to exist")

    cluster.kubectl("delete", "namespace", doomed, "--wait=false")

    def gone() -> bool:
        out = cluster.kubectl("get", "namespace", doomed, "--ignore-not-found", "-o", "name")
        return out.strip() == ""

    eventually(gone, timeout=90, what="the namespace to be deleted")


def test_garbage_collection_removes_a_replicasets_pods(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=REPLICASET)
    pods = eventually(lambda: _running(cluster, namespace, "app=rs", 2), what="2 Running pods")
    owners = {ref["kind"] for p in pods for ref in p["metadata"]["ownerReferences"]}
    assert owners == {"ReplicaSet"}

    cluster.kubectl("delete", "-n", namespace, "replicaset/orphan-maker", "--cascade=background")

    eventually(lambda: _pods(cluster, namespace, "app=rs") == [], what="the garbage collector")


def test_version_endpoint_reports_the_built_release(cluster: Cluster) -> None:
    with cluster.http() as http:
        server = http.get("/version").json()
    expected = toolchain.KUBERNETES_VERSION
    assert server["gitVersion"] == expected
    assert (server["major"], server["minor"]) == ("1", expected.split(".")[1])
    client = json.loads(cluster.kubectl("version", "-o", "json"))
    assert client["clientVersion"]["gitVersion"] == expected
    assert client["serverVersion"]["gitVersion"] == expected


def test_rbac_is_enforced_for_service_account_tokens(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "serviceaccount", "reader", "-n", namespace)
    token = cluster.kubectl("create", "token", "reader", "-n", namespace).strip()
    path = f"/api/v1/namespaces/{namespace}/pods"

    def status_as_reader() -> int:
        with cluster.http(token=token) as http:
            return http.get(path).status_code

    # The token is signed with the cluster's service-account key, so it authenticates...
    assert status_as_reader() == 403
    # ...and RBAC, not a blanket allow, decides what it may do.
    cluster.kubectl(
        "create",
        "rolebinding",
        "reader-view",
        "-n",
        namespace,
        "--clusterrole=view",
        f"--serviceaccount={namespace}:reader",
    )
    assert eventually(lambda: status_as_reader() == 200, timeout=30, what="the RoleBinding to take effect")


def test_every_node_heartbeats_through_a_lease(cluster: Cluster) -> None:
    # Without lease heartbeats the node lifecycle controller marks the nodes NotReady
    # after its grace period, and every pod loses Ready with them.
    def renewals() -> dict[str, str]:
        leases = cluster.get_json("leases", "-n", "kube-node-lease")["items"]
        return {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases}

    first = renewals()
    nodes = {n["metadata"]["name"] for n in cluster.get_json("nodes")["items"]}
    assert set(first) == nodes
    eventually(
        lambda: all(renewals()[node] != first[node] for node in nodes),
        timeout=60,
        what="every node lease to be renewed",
    )
