"""The API against the real cluster: Applications created as objects, read and acted on over HTTP.

No controller runs here: sync, rollback and refresh are requests written on
the Application, so the tests read the object back and check the very patch
the controller will act on (tests/server/test_flows.py runs the controller).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from tests.helpers import Cluster, eventually
from tests.server.conftest import Serve, client, until_async

pytestmark = pytest.mark.cluster

SHA1, SHA2 = "1" * 40, "2" * 40


def app(namespace: str, name: str, project: str, dest: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": project,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
            "source": {"repoURL": "https://git.example/shop.git", "path": "deploy", "targetRevision": "main"},
        },
    }


def set_status(cluster: Cluster, namespace: str, name: str, status: dict[str, Any]) -> None:
    cluster.kubectl(
        "patch", "applications.gitward.dev", name, "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": status}),
    )  # fmt: skip


def get_app(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = cluster.get_json("applications.gitward.dev", name, "-n", namespace)
    return found


@pytest.fixture
async def tokens(connection: Connection, namespace: str) -> dict[str, str]:
    return {
        "admin-a": await create_token(connection, namespace, "admin-a", Role.admin, ["team-a"]),
        "reader": await create_token(connection, namespace, "reader", Role.read_only, ["*"]),
        "admin": await create_token(connection, namespace, "admin", Role.admin, ["*"]),
    }


async def test_auth_reads_filters_and_paging(
    cluster: Cluster, namespace: str, serve: Serve, tokens: dict[str, str]
) -> None:
    for name, project in (("web", "team-a"), ("api", "team-a"), ("db", "team-b")):
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app(namespace, name, project)))
    set_status(cluster, namespace, "db", {"sync": {"status": "OutOfSync"}, "health": {"status": "Degraded"}})
    async with serve() as url:
        async with client(url) as anonymous:
            assert (await anonymous.get("/api/v1/applications")).status_code == 401
        async with client(url, "gw_not-a-real-token") as forged:
            assert (await forged.get("/api/v1/applications")).status_code == 401
        async with client(url, tokens["admin-a"]) as team_a:
            answer = (await team_a.get("/api/v1/applications")).json()
            assert [i["metadata"]["name"] for i in answer["items"]] == ["api", "web"]
            assert answer["total"] == 2
            assert (await team_a.get(f"/api/v1/applications/{namespace}/db")).status_code == 403
            assert (await team_a.get(f"/api/v1/applications/{namespace}/web")).json()["spec"][
                "project"
            ] == "team-a"
        async with client(url, tokens["reader"]) as reader:
            everything = (await reader.get("/api/v1/applications")).json()
            assert everything["total"] == 3
            degraded = (await reader.get("/api/v1/applications", params={"health": "Degraded"})).json()
            assert [i["metadata"]["name"] for i in degraded["items"]] == ["db"]
            assert degraded["items"][0]["status"]["sync"]["status"] == "OutOfSync"
            found = (await reader.get("/api/v1/applications", params={"search": "WE"})).json()
            assert [i["metadata"]["name"] for i in found["items"]] == ["web"]
            # Paging: one at a time, in name order, the total is every match.
            names, token = [], None
            while True:
                params: dict[str, Any] = {"limit": 1, **({"continue": token} if token else {})}
                page = (await reader.get("/api/v1/applications", params=params)).json()
                assert page["total"] == 3
                names += [i["metadata"]["name"] for i in page["items"]]
                token = page["continue"]
                if token is None:
                    break
            assert names == ["api", "db", "web"]
            bad = await reader.get("/api/v1/applications", params={"continue": "%%%"})
            assert bad.status_code == 400
        async with client(url) as anonymous:
            assert (await anonymous.get("/api/v1/applications")).status_code == 401
    async with serve(anonymous="read-only") as url, client(url) as anonymous:
        assert (await anonymous.get("/api/v1/applications")).json()["total"] == 3
        assert (await anonymous.post(f"/api/v1/applications/{namespace}/web/sync")).status_code == 403


async def test_sync_rollback_refresh_and_delete_write_the_contract(
    cluster: Cluster, namespace: str, serve: Serve, tokens: dict[str, str]
) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app(namespace, "web", "team-a")))
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app(namespace, "db", "team-b")))
    source = app(namespace, "web", "team-a")["spec"]["source"]
    history = [
        {
            "id": 0,
            "revision": SHA1,
            "source": {**source, "path": "old"},
            "deployedAt": "2026-01-01T00:00:00Z",
        },
        {"id": 1, "revision": SHA2, "source": source, "deployedAt": "2026-01-02T00:00:00Z"},
    ]
    set_status(cluster, namespace, "web", {"history": history})
    async with serve() as url:
        sync_path = f"/api/v1/applications/{namespace}/web/sync"
        async with client(url, tokens["reader"]) as reader:
            refused = await reader.post(sync_path, json={"prune": True})
            assert refused.status_code == 403
        async with client(url, tokens["admin-a"]) as team_a:
            assert (await team_a.post(f"/api/v1/applications/{namespace}/db/sync")).status_code == 403
            assert (await team_a.get(f"/api/v1/applications/{namespace}/web/history")).json()[
                "history"
            ] == history
            assert "operation" not in get_app(cluster, namespace, "web")

            done = await team_a.post(
                sync_path,
                json={"prune": True, "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}]},
            )
            assert done.status_code == 200, done.text
            operation = get_app(cluster, namespace, "web")["operation"]
            assert operation == {
                "sync": {
                    "prune": True,
                    "dryRun": False,
                    "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
                },
                "initiatedBy": {"username": "admin-a"},
            }
            # One operation at a time: the next waits until the controller picked this one up.
            await until_async(lambda: _has_operation(team_a, namespace, "web"))
            assert (await team_a.post(sync_path)).status_code == 409

            cluster.kubectl(
                "patch", "applications.gitward.dev", "web", "-n", namespace, "--type=merge",
                "-p", '{"operation": null}',
            )  # fmt: skip
            await until_async(lambda: _has_operation(team_a, namespace, "web", False))
            rolled = await team_a.post(f"/api/v1/applications/{namespace}/web/rollback", json={})
            assert rolled.status_code == 200, rolled.text
            obj = get_app(cluster, namespace, "web")
            assert obj["metadata"]["annotations"]["gitward.dev/automation-paused"] == (
                f"rollback to history 0 ({SHA1[:12]})"
            )
            assert obj["operation"] == {
                "sync": {"revision": SHA1, "source": {**source, "path": "old"}},
                "initiatedBy": {"username": "admin-a"},
                "info": [{"name": "rollback", "value": "0"}],
            }
            await until_async(lambda: _has_operation(team_a, namespace, "web"))
            missing = await team_a.post(f"/api/v1/applications/{namespace}/web/rollback", json={"id": 7})
            assert missing.status_code in (404, 409)

            # A sync lifts the rollback's pause in the same patch.
            cluster.kubectl(
                "patch", "applications.gitward.dev", "web", "-n", namespace, "--type=merge",
                "-p", '{"operation": null}',
            )  # fmt: skip
            await until_async(lambda: _has_operation(team_a, namespace, "web", False))
            assert (await team_a.post(sync_path, json={"revision": SHA2})).status_code == 200
            obj = get_app(cluster, namespace, "web")
            assert "gitward.dev/automation-paused" not in obj["metadata"].get("annotations", {})
            assert obj["operation"]["sync"]["revision"] == SHA2

            refreshed = await team_a.post(
                f"/api/v1/applications/{namespace}/web/refresh", json={"hard": True}
            )
            assert refreshed.status_code == 200
            assert (
                get_app(cluster, namespace, "web")["metadata"]["annotations"]["gitward.dev/refresh"] == "hard"
            )

            gone = await team_a.delete(f"/api/v1/applications/{namespace}/web", params={"cascade": "false"})
            assert gone.status_code == 202
            eventually(
                lambda: (
                    not cluster.kubectl(
                        "get",
                        "applications.gitward.dev",
                        "web",
                        "-n",
                        namespace,
                        "--ignore-not-found",
                        "-o",
                        "name",
                    ).strip()
                ),
                what="the app to be deleted",
            )
            assert (await team_a.delete(f"/api/v1/applications/{namespace}/db")).status_code == 403


async def _has_operation(http: httpx.AsyncClient, namespace: str, name: str, wanted: bool = True) -> bool:
    """The server's watch has seen the operation appear (or go)."""
    answer = await http.get("/api/v1/applications", params={"search": name})
    items = [i for i in answer.json()["items"] if i["metadata"]["name"] == name]
    return bool(items) and items[0]["operation"] is wanted


async def test_tree_events_stream_metrics_and_probes(
    cluster: Cluster, namespace: str, serve: Serve, tokens: dict[str, str]
) -> None:
    cluster.kubectl(
        "create", "deployment", "web", "--image=registry.example/web:1", "--replicas=2", "-n", namespace
    )
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app(namespace, "web", "team-a", dest=namespace)))
    resources = [
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": namespace, "name": "web",
         "status": "Synced"},
        {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": namespace, "name": "gone",
         "status": "OutOfSync"},
    ]  # fmt: skip
    set_status(cluster, namespace, "web", {"resources": resources, "sync": {"status": "OutOfSync"}})
    uid = get_app(cluster, namespace, "web")["metadata"]["uid"]
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "web.test", "namespace": namespace},
        "involvedObject": {"apiVersion": "gitward.dev/v1alpha1", "kind": "Application", "name": "web",
                           "namespace": namespace, "uid": uid},
        "reason": "SyncFailed",
        "message": "deploy/web.yaml:3:1: mapping values are not allowed here",
        "type": "Warning",
    }  # fmt: skip
    cluster.kubectl("create", "-f", "-", stdin=json.dumps(event))
    eventually(
        lambda: len(cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]) == 2, what="two pods"
    )
    async with serve() as url, client(url, tokens["reader"]) as reader:
        tree = (await reader.get(f"/api/v1/applications/{namespace}/web/resource-tree")).json()["nodes"]
        kinds = [n["kind"] for n in tree]
        assert kinds.count("Deployment") == 1 and kinds.count("ReplicaSet") == 1 and kinds.count("Pod") == 2
        deployment = next(n for n in tree if n["kind"] == "Deployment")
        replica_set = next(n for n in tree if n["kind"] == "ReplicaSet")
        assert replica_set["parentRefs"][0]["uid"] == deployment["uid"]
        assert all(n["parentRefs"][0]["uid"] == replica_set["uid"] for n in tree if n["kind"] == "Pod")
        assert next(n for n in tree if n["name"] == "gone")["health"]["status"] == "Missing"
        assert deployment["status"] == "Synced" and deployment["health"] is not None

        events = (await reader.get(f"/api/v1/applications/{namespace}/web/events")).json()["items"]
        assert [(e["reason"], e["message"]) for e in events] == [("SyncFailed", event["message"])]

        # The stream hears a change as the watch delivers it: no polling by the client.
        async with (
            client(url, tokens["reader"]) as streaming,
            streaming.stream("GET", "/api/v1/stream") as live,
        ):
            assert live.headers["content-type"].startswith("text/event-stream")
            lines = live.aiter_lines()
            assert await anext(lines) == ": connected"
            set_status(cluster, namespace, "web", {"health": {"status": "Degraded", "message": "crash"}})
            seen = await asyncio.wait_for(_next_event(lines), 20)
            assert seen["type"] == "MODIFIED"
            assert seen["application"]["metadata"]["name"] == "web"
            assert seen["application"]["status"]["health"]["status"] == "Degraded"

        text = (await reader.get("/metrics")).text
        families = {f.name: f for f in text_string_to_metric_families(text)}
        info = [s for s in families["gitward_app_info"].samples if s.labels["name"] == "web"]
        assert info and info[0].labels["health_status"] == "Degraded"
        assert info[0].labels["project"] == "team-a" and info[0].value == 1.0
        assert (await reader.get("/healthz")).status_code == 200
        schema = (await reader.get("/openapi.json")).json()
        assert "/api/v1/applications/{namespace}/{name}/sync" in schema["paths"]


async def _next_event(lines: Any) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data: "):
            found: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return found
    raise AssertionError("the stream ended")
