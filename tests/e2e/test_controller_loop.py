"""The GitOps loop end to end: a real Git server, the real cluster, the controller running.

A commit reaches the cluster, a hand edit is healed, a file deleted in Git
is pruned, and malformed YAML leaves the last good revision running with a
condition that names the file and line.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import DEPLOYMENT, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


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
