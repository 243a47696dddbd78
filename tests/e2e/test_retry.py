"""A revision the API server refuses: automated sync retries it per syncPolicy.retry, then leaves it.

After the last retry the operation is Failed and automation does not try the
same commit again (Argo CD's rule) while a condition says why; a new commit
is synced at once.
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


async def test_a_refused_revision_is_retried_then_left_until_git_changes(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    broken = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=-1)})
    target = f"retry-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    app = application(namespace, target, url)
    app["spec"]["syncPolicy"]["retry"] = {
        "limit": 2,
        "backoff": {"duration": "1s", "factor": 2, "maxDuration": "2s"},
    }

    def status() -> dict[str, Any]:
        found = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return dict(found.get("status") or {})

    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    failed = await until(
        lambda: (s := status().get("operationState") or {}).get("phase") == "Failed" and s,
        timeout=90,
        what="the automated sync to fail after its retries",
    )
    assert failed["retryCount"] == 2, "two retries after the first attempt"
    assert failed["syncResult"]["revision"] == broken
    assert "spec.replicas" in failed["message"]
    assert failed["operation"]["sync"]["revision"] == broken, "automated syncs are pinned to their commit"
    events = cluster.get_json("events", "-n", namespace, "--field-selector", "involvedObject.name=shop")
    retries = [e["message"] for e in events["items"] if e["message"].startswith("Retrying attempt")]
    assert len(retries) == 2
    assert cluster.kubectl("get", "deployment", "web", "-n", target, "--ignore-not-found") == ""

    # Further passes see the failure and leave the commit alone, with a condition saying so.
    condition = await until(
        lambda: next((c for c in status().get("conditions", []) if c["type"] == "SyncError"), None),
        what="the SyncError condition",
    )
    assert broken[:12] in condition["message"] and "3 attempts" in condition["message"]
    passes = controller.triggers.counts["poll"]
    await until(lambda: controller.triggers.counts["poll"] >= passes + 3, what="three more passes")
    assert status()["operationState"] == failed, "no new attempt at the same revision"

    # A new commit is synced, and the condition goes.
    fixed = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=2)})
    done = await until(
        lambda: (s := status().get("operationState") or {}).get("phase") == "Succeeded" and s,
        timeout=90,
        what="the fixed commit to sync",
    )
    assert done["syncResult"]["revision"] == fixed
    assert done["retryCount"] == 0
    await until(
        lambda: not [c for c in status().get("conditions", []) if c["type"] == "SyncError"],
        what="the SyncError condition to clear",
    )
    assert cluster.get_json("deployment", "web", "-n", target)["spec"]["replicas"] == 2
