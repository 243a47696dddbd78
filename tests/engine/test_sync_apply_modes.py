"""How a sync writes: RespectIgnoreDifferences and client-side apply, against the real session cluster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.engine.diff.ignore import load_rules
from gitward.engine.sync.operation import SyncRequest, sync
from gitward.engine.sync.result import SyncResult
from gitward.kube import Connection, Discovery, Writer
from gitward.model.status import OperationPhase
from gitward.model.sync import SyncOptions
from tests.engine.test_sync import by_name, config_map, deployment
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

REPLICAS_IGNORED = load_rules([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}])


@pytest.fixture
def writer(connection: Connection) -> Writer:
    return Writer(connection, Discovery(connection, min_refresh=0.5))


def live(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = cluster.get_json(kind, name, "-n", namespace)
    return found


async def run(writer: Writer, request: SyncRequest) -> SyncResult:
    result = await sync(request, writer)
    assert result.phase is OperationPhase.succeeded, result.message
    return result


async def test_respect_ignore_differences_keeps_what_an_autoscaler_set(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"rid-{namespace}"
    objects = [deployment("scaled"), deployment("other")]
    await run(writer, SyncRequest(app=app, objects=objects, namespace=namespace, wait=False))
    # An autoscaler writes through the scale subresource, as `kubectl scale` does.
    for name in ("scaled", "other"):
        cluster.kubectl("scale", "deployment", name, "--replicas=4", "-n", namespace)
    # Git changes the image of both; only the app-wide option differs between the two syncs below.
    changed = [deployment("scaled", image="registry.example/guestbook:2")]
    options = SyncOptions(respect_ignore_differences=True)

    result = await run(
        writer,
        SyncRequest(
            app=app,
            objects=[*changed, deployment("other", image="registry.example/guestbook:2")],
            namespace=namespace,
            options=options,
            ignore_rules=REPLICAS_IGNORED,
            wait=False,
        ),
    )

    assert by_name(result)["scaled"].written
    for name in ("scaled", "other"):
        spec = live(cluster, "deployment", name, namespace)["spec"]
        assert spec["replicas"] == 4, name
        assert spec["template"]["spec"]["containers"][0]["image"] == "registry.example/guestbook:2"

    # The same revision without the option: the ignored field is applied as Git says.
    plain = await run(
        writer,
        SyncRequest(app=app, objects=changed, namespace=namespace, ignore_rules=REPLICAS_IGNORED, wait=False),
    )
    assert by_name(plain)["scaled"].written
    assert live(cluster, "deployment", "scaled", namespace)["spec"]["replicas"] == 2


async def test_respect_ignore_differences_by_annotation_covers_only_that_object(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"ria-{namespace}"
    respected = deployment("respected", **{"gitward.dev/sync-options": "RespectIgnoreDifferences=true"})
    objects = [respected, deployment("plain")]
    await run(writer, SyncRequest(app=app, objects=objects, namespace=namespace, wait=False))
    for name in ("respected", "plain"):
        cluster.kubectl("scale", "deployment", name, "--replicas=3", "-n", namespace)

    await run(
        writer,
        SyncRequest(app=app, objects=objects, namespace=namespace, ignore_rules=REPLICAS_IGNORED, wait=False),
    )

    assert live(cluster, "deployment", "respected", namespace)["spec"]["replicas"] == 3
    assert live(cluster, "deployment", "plain", namespace)["spec"]["replicas"] == 2


async def test_respect_ignore_differences_creates_a_missing_object_as_declared(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    settings = config_map("settings")
    settings["data"] = {"k": "v", "mode": "git"}
    rules = load_rules([{"kind": "ConfigMap", "jsonPointers": ["/data/mode"]}])

    request = SyncRequest(
        app=f"ric-{namespace}",
        objects=[settings],
        namespace=namespace,
        options=SyncOptions(respect_ignore_differences=True),
        ignore_rules=rules,
    )
    await run(writer, request)

    assert live(cluster, "configmap", "settings", namespace)["data"] == {"k": "v", "mode": "git"}
    cluster.kubectl(
        "patch", "configmap", "settings", "-n", namespace, "-p", json.dumps({"data": {"mode": "hand"}})
    )
    settings["data"]["k"] = "v2"
    await run(writer, request)
    assert live(cluster, "configmap", "settings", namespace)["data"] == {"k": "v2", "mode": "hand"}


CLIENT_SIDE = SyncOptions(server_side_apply=False)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


async def test_client_side_apply_removes_what_git_dropped_and_keeps_what_others_set(
    cluster: Cluster, namespace: str, connection: Connection, writer: Writer
) -> None:
    app = f"csa-{namespace}"
    settings = config_map("settings")
    settings["metadata"]["labels"] = {"team": "shop", "tier": "front"}
    settings["data"] = {"a": "1", "b": "2"}
    await run(writer, SyncRequest(app=app, objects=[settings], namespace=namespace, options=CLIENT_SIDE))
    created = live(cluster, "configmap", "settings", namespace)
    recorded = json.loads(created["metadata"]["annotations"][LAST_APPLIED])
    assert recorded["data"] == {"a": "1", "b": "2"}
    managed = cluster.get_json("configmap", "settings", "-n", namespace, "--show-managed-fields")
    assert [(e["manager"], e["operation"]) for e in managed["metadata"]["managedFields"]] == [
        ("gitward", "Update")
    ]
    cluster.kubectl("label", "configmap", "settings", "owner=ops", "-n", namespace)
    settings["metadata"]["labels"] = {"team": "shop"}
    settings["data"] = {"a": "10"}

    result = await run(
        writer, SyncRequest(app=app, objects=[settings], namespace=namespace, options=CLIENT_SIDE)
    )

    assert by_name(result)["settings"].written
    after = live(cluster, "configmap", "settings", namespace)
    assert after["metadata"]["labels"] == {"team": "shop", "owner": "ops"}
    assert after["data"] == {"a": "10"}
    assert json.loads(after["metadata"]["annotations"][LAST_APPLIED])["data"] == {"a": "10"}

    # Nothing changed in Git since: a fresh process writes nothing.
    connection.requests.clear()
    again = await sync(
        SyncRequest(app=app, objects=[settings], namespace=namespace, options=CLIENT_SIDE), writer
    )
    assert again.phase is OperationPhase.succeeded, again.message
    assert again.writes == 0
    assert {r.message for r in again.resources} == {"unchanged"}


async def test_client_side_apply_by_annotation_removes_a_field_inside_a_list_item(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"csl-{namespace}"
    web = deployment("web", **{"gitward.dev/sync-options": "ServerSideApply=false"})
    container = web["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "MODE", "value": "debug"}]
    await run(writer, SyncRequest(app=app, objects=[web], namespace=namespace, wait=False))
    assert LAST_APPLIED in live(cluster, "deployment", "web", namespace)["metadata"]["annotations"]
    del container["env"]

    await run(writer, SyncRequest(app=app, objects=[web], namespace=namespace, wait=False))

    template = live(cluster, "deployment", "web", namespace)["spec"]["template"]
    assert "env" not in template["spec"]["containers"][0]


async def test_client_side_apply_of_a_secret_records_its_keys_not_its_values(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    secret: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "stringData": {"user": "admin", "password": "s3cr3t-value"},
    }
    app = f"css-{namespace}"
    await run(writer, SyncRequest(app=app, objects=[secret], namespace=namespace, options=CLIENT_SIDE))
    stored = live(cluster, "secret", "creds", namespace)
    assert "s3cr3t-value" not in json.dumps(stored["metadata"])
    del secret["stringData"]["user"]

    await run(writer, SyncRequest(app=app, objects=[secret], namespace=namespace, options=CLIENT_SIDE))

    assert sorted(live(cluster, "secret", "creds", namespace)["data"]) == ["password"]
