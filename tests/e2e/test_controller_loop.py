"""The GitOps loop end to end: a real Git server, the real cluster, the controller running.

A commit reaches the cluster, a hand edit is healed, a file deleted in Git
is pruned, and malformed YAML leaves the last good revision running with a
condition that names the file and line.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.kube import Connection, KubeError
from tests.e2e.support import DEPLOYMENT, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
"""


async def test_git_is_the_source_of_truth(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)

    def app_status() -> dict[str, Any]:
        found: dict[str, Any] = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return found.get("status") or {}

    def replicas() -> int | None:
        out = cluster.kubectl("get", "deployment", "web", "-n", target, "--ignore-not-found", "-o", "json")
        return json.loads(out)["spec"]["replicas"] if out.strip() else None

    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))
    first = upstream.head()
    await until(
        lambda: (
            app_status().get("sync", {}).get("revision") == first
            and app_status()["sync"]["status"] == "Synced"
        ),
        what="the first sync",
    )
    assert replicas() == 2
    status = app_status()
    assert status["history"][-1]["revision"] == first
    assert {r["kind"] for r in status["resources"]} == {"ConfigMap", "Deployment"}

    # A commit reaches the cluster.
    second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    await until(lambda: replicas() == 3, what="the commit to reach the cluster")
    await until(lambda: app_status().get("sync", {}).get("revision") == second, what="status to follow")

    # A hand edit is healed.
    cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=7")
    await until(lambda: replicas() == 3, timeout=30, what="selfHeal to revert the edit")

    # Malformed YAML: nothing applied, the last good revision stays, the condition names file and line.
    upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=5) + "  broken: [\n"})
    condition = await until(
        lambda: next((c for c in app_status().get("conditions", []) if c["type"] == "ComparisonError"), None),
        what="a ComparisonError condition",
    )
    assert "deploy/web.yaml:" in condition["message"]
    assert replicas() == 3
    assert app_status()["sync"]["revision"] == second

    # A file deleted in Git is pruned (and the fix clears the condition).
    upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    (upstream.path / "deploy" / "config.yaml").unlink()
    third = upstream.commit({}, "drop the config map")

    def pruned() -> bool:
        out = cluster.kubectl(
            "get", "configmap", "settings", "-n", target, "--ignore-not-found", "-o", "name"
        )
        return out.strip() == ""

    await until(pruned, what="the ConfigMap removed from Git to be pruned")
    await until(lambda: app_status().get("sync", {}).get("revision") == third, what="status at the fix")
    assert not [c for c in app_status().get("conditions", []) if c["type"] == "ComparisonError"]


async def test_ignored_differences_are_neither_healed_nor_reported(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    app = application(namespace, target, url)
    # An autoscaler owns the replica count: Argo CD users say so with ignoreDifferences.
    app["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def sync_status() -> str:
        found = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return str((found.get("status") or {}).get("sync", {}).get("status"))

    await until(lambda: sync_status() == "Synced", what="the first sync")
    comparer = controller.reconciler.comparer
    before = comparer.dry_runs
    cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=5")

    # The watch wakes the app and the changed Deployment is compared afresh (a new dry run);
    # as in Argo CD, ignoreDifferences shapes the comparison, so selfHeal sees nothing to heal.
    await until(lambda: comparer.dry_runs > before, what="the scaled Deployment to be compared")
    # Two more finished passes: the one that compared it (and would have healed) is over.
    passes = controller.triggers.counts["poll"]
    await until(lambda: controller.triggers.counts["poll"] >= passes + 2, what="two more reconciles")
    await until(lambda: sync_status() == "Synced", what="Synced despite the ignored field")
    replicas = cluster.get_json("deployment", "web", "-n", target)["spec"]["replicas"]
    assert replicas == 5, "an ignored field is not healed"


async def test_the_pass_that_syncs_a_new_app_reports_it_synced_at_once(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    controller: Controller,
    repo: tuple[str, Upstream],
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    statuses: list[dict[str, Any]] = []

    async def record() -> None:
        path = f"/apis/gitward.dev/v1alpha1/namespaces/{namespace}/applications"
        while True:
            try:
                async for event in connection.watch(path, {"fieldSelector": "metadata.name=shop"}):
                    statuses.append((event.get("object") or {}).get("status") or {})
            except KubeError:
                await asyncio.sleep(0.1)  # a CRD just installed answers 429 for a moment

    # More objects, Services among them (a new one's watch event tends to come last), make it
    # likelier that the watch has not shown them all when the sync's writes return.
    upstream.commit({f"deploy/extra-{i}.yaml": SERVICE.format(name=f"extra-{i}") for i in range(6)})
    recorder = asyncio.create_task(record())
    await asyncio.sleep(0.5)  # the watch is open before the app exists: it sees every status
    try:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))
        head = upstream.head()
        await until(
            lambda: any((s.get("sync") or {}).get("revision") == head for s in statuses),
            what="the first sync's status",
        )
    finally:
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)

    # The sync's own pass waits for the watch to show what it created, so the status that records
    # the finished sync already says Synced: no OutOfSync in between for a later pass to correct.
    finished = [s for s in statuses if (s.get("operationState") or {}).get("phase") == "Succeeded"]
    assert finished, statuses
    assert finished[0]["sync"] == {**finished[0]["sync"], "status": "Synced", "revision": head}
    assert [s["sync"]["status"] for s in statuses if s.get("sync")][:1] == ["Synced"]
