"""Server-side apply, dry run, strict validation and delete, against the real local cluster."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gitward.kube.apply import Propagation, Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import Discovery
from gitward.kube.errors import KubeError
from tests.helpers import Cluster, eventually
from tests.kube.manifests import config_map, deployment

pytestmark = pytest.mark.cluster


def live(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, object] | None:
    out = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--ignore-not-found")
    return json.loads(out) if out.strip() else None


async def test_apply_creates_then_updates_the_same_object(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    created = await writer.apply(deployment(namespace, replicas=1))
    assert created["metadata"]["namespace"] == namespace
    assert [m["manager"] for m in created["metadata"]["managedFields"]] == ["gitward"]

    updated = await writer.apply(deployment(namespace, replicas=3))
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["spec"]["replicas"] == 3
    seen = cluster.get_json("deployment", "web", "-n", namespace)
    assert seen["spec"]["replicas"] == 3
    # The server's defaults come back, which is what makes the answer usable as a diff's live side.
    assert updated["spec"]["strategy"]["type"] == "RollingUpdate"


async def test_dry_run_answers_with_defaults_and_writes_nothing(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    preview = await writer.apply(deployment(namespace), dry_run=True)
    assert preview["spec"]["revisionHistoryLimit"] == 10
    assert live(cluster, "deployment", "web", namespace) is None

    await writer.apply(deployment(namespace, replicas=1))
    preview = await writer.apply(deployment(namespace, replicas=5), dry_run=True)
    assert preview["spec"]["replicas"] == 5
    seen = live(cluster, "deployment", "web", namespace)
    assert seen is not None
    assert seen["spec"]["replicas"] == 1  # type: ignore[index]


async def test_an_unknown_field_is_refused_naming_it(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    bad = deployment(namespace)
    bad["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "Always"
    with pytest.raises(KubeError) as caught:
        await writer.apply(bad)
    assert "imagePolicy" in str(caught.value)
    assert live(cluster, "deployment", "web", namespace) is None


async def test_a_field_owned_by_kubectl_needs_force(cluster: Cluster, namespace: str, writer: Writer) -> None:
    await writer.apply(config_map(namespace, "settings", {"mode": "a"}))
    cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=someone",
        "--force-conflicts",
        "-f",
        "-",
        stdin=json.dumps(config_map(namespace, "settings", {"mode": "b"})),
    )
    with pytest.raises(KubeError) as caught:
        await writer.apply(config_map(namespace, "settings", {"mode": "c"}))
    assert caught.value.code == 409
    assert "someone" in str(caught.value)

    await writer.apply(config_map(namespace, "settings", {"mode": "c"}), force=True)
    assert cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"mode": "c"}


async def test_a_namespaced_object_without_namespace_is_a_clear_error(writer: Writer) -> None:
    obj = config_map("x", "settings", {})
    del obj["metadata"]["namespace"]
    with pytest.raises(KubeError, match=r"ConfigMap settings: a namespaced kind needs metadata\.namespace"):
        await writer.apply(obj)


def replica_sets(cluster: Cluster, namespace: str) -> list[str]:
    items = cluster.get_json("replicasets", "-n", namespace, "-l", "app=web")["items"]
    return [rs["metadata"]["name"] for rs in items if not rs["metadata"].get("deletionTimestamp")]


@pytest.mark.parametrize(
    ("policy", "keeps_replica_sets"), [(Propagation.foreground, False), (Propagation.orphan, True)]
)
async def test_delete_honours_the_propagation_policy(
    cluster: Cluster, namespace: str, writer: Writer, policy: Propagation, keeps_replica_sets: bool
) -> None:
    await writer.apply(deployment(namespace))
    owned = eventually(
        lambda: replica_sets(cluster, namespace), timeout=30, what="the Deployment's ReplicaSet"
    )

    assert await writer.delete("apps/v1", "Deployment", "web", namespace, propagation=policy)
    eventually(lambda: live(cluster, "deployment", "web", namespace) is None, timeout=30, what="deletion")
    if keeps_replica_sets:
        assert replica_sets(cluster, namespace) == owned
    else:
        eventually(lambda: not replica_sets(cluster, namespace), timeout=30, what="ReplicaSets to go")
    assert not await writer.delete("apps/v1", "Deployment", "web", namespace)


async def test_delete_with_a_stale_uid_leaves_the_new_copy(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    first = await writer.apply(config_map(namespace, "settings", {"v": "1"}))
    # Background: gone at once (Foreground would keep it, finalised, until the collector runs).
    await writer.delete("v1", "ConfigMap", "settings", namespace, propagation=Propagation.background)
    second = await writer.apply(config_map(namespace, "settings", {"v": "2"}))
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    with pytest.raises(KubeError) as caught:
        await writer.delete("v1", "ConfigMap", "settings", namespace, uid=first["metadata"]["uid"])
    assert caught.value.code == 409
    assert cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"v": "2"}


async def test_in_cluster_configuration_uses_the_service_account_token(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.kubectl("create", "serviceaccount", "gitward", "-n", namespace)
    token = cluster.kubectl("create", "token", "gitward", "-n", namespace).strip()
    (tmp_path / "token").write_text(token)
    (tmp_path / "namespace").write_text(namespace)
    (tmp_path / "ca.crt").write_bytes(cluster.state.layout.pki.ca_cert.read_bytes())
    server = urlsplit(cluster.server)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", str(server.hostname))
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))

    async with Connection.in_cluster(tmp_path) as conn:
        writer = Writer(conn, Discovery(conn))
        # The account has no RBAC grants: the refusal proves whose token was sent.
        with pytest.raises(KubeError) as caught:
            await writer.get("v1", "ConfigMap", "anything", namespace)
    assert caught.value.code == 403
    assert f"system:serviceaccount:{namespace}:gitward" in str(caught.value)


async def test_outside_a_cluster_in_cluster_configuration_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeError, match="not running in a cluster"):
        Connection.in_cluster(tmp_path)


async def test_an_error_about_a_secret_never_quotes_its_value(namespace: str, writer: Writer) -> None:
    # An unquoted number in YAML is the classic way a password becomes the wrong type.
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": namespace},
        "stringData": {"password": 73519024},
    }
    with pytest.raises(KubeError) as caught:
        await writer.apply(secret)
    assert ".stringData.password" in str(caught.value)
    assert "73519024" not in str(caught.value)
