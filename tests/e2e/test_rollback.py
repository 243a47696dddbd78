"""Rollback through the shared contract's merge patches, as `gitward app rollback` and `app sync` send them.

A rollback deploys a history entry's revision, pauses automation (so the
next pass does not undo it) with a condition saying how to resume, and is
recorded in history like any sync; the manual sync that removes the pause
brings the app back to its target revision.
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

PAUSE = "gitward.dev/automation-paused"


async def test_rollback_pauses_automation_until_a_manual_sync(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    first = upstream.head()
    target = f"rb-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    app = application(namespace, target, url)
    app["spec"]["revisionHistoryLimit"] = 3

    def found() -> dict[str, Any]:
        got: dict[str, Any] = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return got

    def status() -> dict[str, Any]:
        return dict(found().get("status") or {})

    def replicas() -> int:
        return int(cluster.get_json("deployment", "web", "-n", target)["spec"]["replicas"])

    def merge(patch: dict[str, Any]) -> None:
        cluster.kubectl(
            "patch",
            "applications.gitward.dev",
            "shop",
            "-n",
            namespace,
            "--type=merge",
            "-p",
            json.dumps(patch),
        )

    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    await until(lambda: len(status().get("history", [])) == 1, what="the first sync")
    second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    await until(lambda: len(status().get("history", [])) == 2, what="the second commit's sync")
    assert replicas() == 3
    entry = status()["history"][0]
    assert entry["revision"] == first
    assert entry["initiatedBy"] == {"automated": True}
    assert entry["deployStartedAt"] <= entry["deployedAt"]

    # `gitward app rollback shop 0`: one merge patch.
    note = f"rollback to history 0 ({first[:12]})"
    merge(
        {
            "metadata": {"annotations": {PAUSE: note}},
            "operation": {
                "sync": {"revision": entry["revision"], "source": entry["source"]},
                "initiatedBy": {"username": "ann"},
                "info": [{"name": "rollback", "value": "0"}],
            },
        }
    )
    await until(lambda: len(status().get("history", [])) == 3, what="the rollback to be recorded")
    await until(lambda: replicas() == 2, what="the old revision's replica count")
    rolled = status()
    assert rolled["operationState"]["phase"] == "Succeeded"
    assert rolled["operationState"]["operation"]["info"] == [{"name": "rollback", "value": "0"}]
    assert [h["id"] for h in rolled["history"]] == [0, 1, 2]
    assert rolled["history"][-1]["revision"] == first
    assert rolled["history"][-1]["initiatedBy"] == {"username": "ann"}
    assert "operation" not in found(), "a finished operation is cleared"
    paused = await until(
        lambda: next((c for c in status().get("conditions", []) if c["type"] == "AutomationPaused"), None),
        what="the AutomationPaused condition",
    )
    assert paused["message"] == f"{note}; run `gitward app sync shop` to resume"
    await until(lambda: status()["sync"]["status"] == "OutOfSync", what="OutOfSync against the target")
    assert status()["sync"]["revision"] == second

    # Paused: neither the newer commit nor a hand edit is acted on.
    cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=5")
    passes = controller.triggers.counts["poll"]
    await until(lambda: controller.triggers.counts["poll"] >= passes + 3, what="three more passes")
    assert replicas() == 5, "self-heal is paused too"
    assert len(status()["history"]) == 3

    # `gitward app sync shop`: the pause goes in the same patch that asks for the sync.
    merge(
        {
            "metadata": {"annotations": {PAUSE: None}},
            "operation": {"sync": {"prune": True}, "initiatedBy": {"username": "ann"}},
        }
    )
    await until(lambda: replicas() == 3, what="the target revision again")
    resumed = await until(
        lambda: (s := status())["sync"]["status"] == "Synced" and s, what="Synced at the target revision"
    )
    assert not [c for c in resumed.get("conditions", []) if c["type"] == "AutomationPaused"]
    assert [h["id"] for h in resumed["history"]] == [1, 2, 3], "revisionHistoryLimit keeps the newest 3"
    assert resumed["history"][-1]["revision"] == second

    # Automation is back: a hand edit is healed again.
    cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=6")
    await until(lambda: replicas() == 3, what="self-heal to be back")
