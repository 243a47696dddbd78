"""The API with the controller running: manifests and diff from Git, a sync and a rollback through HTTP.

Also the controller's own probe endpoint: /readyz once it has listed the
Applications, /metrics with its reconcile counts and the per-app info gauge.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from tests.e2e.support import DEPLOYMENT, application, settings, until
from tests.helpers import Cluster
from tests.server.conftest import Serve, client, free_port, until_async
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

PASSWORD = "hunter2-" + secrets.token_hex(4)
SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: {PASSWORD}
"""


async def _app(http: httpx.AsyncClient, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = (await http.get(f"/api/v1/applications/{namespace}/shop")).json()
    return found


async def test_manifests_diff_sync_and_rollback_through_the_api(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    controller: Controller,
    repo: tuple[str, Upstream],
    serve: Serve,
) -> None:
    url, upstream = repo
    upstream.commit({"deploy/secret.yaml": SECRET})
    first = upstream.head()
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    manual = application(namespace, target, url)
    del manual["spec"]["syncPolicy"]  # the API, not automation, decides when to sync
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manual))
    admin = await create_token(connection, namespace, "ops", Role.admin, ["default"])

    def replicas() -> int | None:
        out = cluster.kubectl("get", "deployment", "web", "-n", target, "--ignore-not-found", "-o", "json")
        return json.loads(out)["spec"]["replicas"] if out.strip() else None

    async with serve() as api, client(api, admin) as http:
        shown = await http.get(f"/api/v1/applications/{namespace}/shop/manifests")
        assert shown.status_code == 200, shown.text
        assert PASSWORD not in shown.text
        body = shown.json()
        assert body["revision"] == first
        assert sorted(m["kind"] for m in body["manifests"]) == ["ConfigMap", "Deployment", "Secret"]

        before = await http.get(f"/api/v1/applications/{namespace}/shop/diff")
        assert before.status_code == 200, before.text
        assert PASSWORD not in before.text
        verdicts = {r["kind"]: r for r in before.json()["resources"]}
        assert all(v["status"] == "OutOfSync" and v["wouldCreate"] for v in verdicts.values())
        assert "+++++" in verdicts["Secret"]["diff"]

        assert (await http.post(f"/api/v1/applications/{namespace}/shop/sync", json={})).status_code == 200

        async def synced_at(revision: str) -> bool:
            status = (await _app(http, namespace)).get("status") or {}
            sync = status.get("sync") or {}
            return bool(sync.get("status") == "Synced" and sync.get("revision") == revision)

        await until_async(lambda: synced_at(first), what="the sync asked through the API")
        assert replicas() == 2
        after = (await http.get(f"/api/v1/applications/{namespace}/shop/diff")).json()["resources"]
        assert {r["status"] for r in after} == {"Synced"}

        second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
        assert (await http.post(f"/api/v1/applications/{namespace}/shop/refresh", json={})).status_code == 200
        await until_async(
            lambda: _revision_seen(http, namespace, second), what="the new commit to be noticed (refresh)"
        )
        await until_async(lambda: _idle(http, namespace), what="no operation pending")
        assert (await http.post(f"/api/v1/applications/{namespace}/shop/sync", json={})).status_code == 200
        await until(lambda: replicas() == 3, what="the second sync")

        async def history() -> list[str]:
            entries = (await http.get(f"/api/v1/applications/{namespace}/shop/history")).json()["history"]
            return [h["revision"] for h in entries]

        await until_async(lambda: _equal(history(), [first, second]), what="the history of both syncs")

        await until_async(lambda: _idle(http, namespace), what="no operation pending")
        rolled = await http.post(f"/api/v1/applications/{namespace}/shop/rollback", json={})
        assert rolled.status_code == 200, rolled.text
        await until(lambda: replicas() == 2, what="the rollback to the first revision")


async def _equal(value: Any, wanted: Any) -> bool:
    return bool(await value == wanted)


async def _revision_seen(http: httpx.AsyncClient, namespace: str, revision: str) -> bool:
    status = (await _app(http, namespace)).get("status") or {}
    return bool(status.get("sync", {}).get("revision") == revision)


async def _idle(http: httpx.AsyncClient, namespace: str) -> bool:
    app = await _app(http, namespace)
    phase = ((app.get("status") or {}).get("operationState") or {}).get("phase")
    return not app.get("operation") and phase != "Running"


async def test_controller_serves_probes_and_metrics(
    cluster: Cluster, namespace: str, connection: Connection, repo: tuple[str, Upstream], tmp_path: Path
) -> None:
    from tests.e2e.support import install_crds

    install_crds(cluster)
    url, _ = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    port = free_port()
    running = Controller(connection, settings(namespace, tmp_path, health_port=port))
    task = asyncio.create_task(running.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as probe:

            async def ready() -> bool:
                try:
                    return (await probe.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until_async(ready, what="the controller to be ready")
            assert (await probe.get("/healthz")).text == "ok\n"
            cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))

            async def reported() -> bool:
                families = {
                    f.name: f for f in text_string_to_metric_families((await probe.get("/metrics")).text)
                }
                info = [
                    s
                    for s in families["gitward_app_info"].samples
                    if s.labels["name"] == "shop" and s.labels["namespace"] == namespace
                ]
                return bool(info) and info[0].labels["sync_status"] == "Synced"

            await until_async(reported, what="gitward_app_info to show the app Synced")
            families = {f.name: f for f in text_string_to_metric_families((await probe.get("/metrics")).text)}
            counts = [
                s.value
                for s in families["gitward_app_reconcile_duration_seconds"].samples
                if s.name.endswith("_count")
            ]
            assert sum(counts) >= 1
            assert "gitward_workqueue_depth" in families
            assert "gitward_git_fetch_duration_seconds" in families
            assert (await probe.post("/metrics")).status_code == 405
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
