"""`gitward app` with the controller running: create, wait, history, rollback, resume, delete.

A user's whole session, with the real command (a subprocess), the real
controller, a real Git server and the real cluster.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.cli.support import app_cli_async
from tests.e2e.support import DEPLOYMENT, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


async def test_create_wait_rollback_resume_delete(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream], tmp_path: Path
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)

    async def cli(*args: str) -> tuple[int, str, str]:
        ran = await app_cli_async(cluster, namespace, *args)
        return ran.code, ran.out, ran.err

    async def app_json() -> dict[str, Any]:
        code, out, err = await cli("get", "shop", "-o", "json")
        assert code == 0, err
        found: dict[str, Any] = json.loads(out)
        return found

    def replicas() -> int | None:
        found = live(cluster, "deployment", "web", target)
        return found["spec"]["replicas"] if found else None

    code, out, err = await cli(
        "create", "shop", "--repo", url, "--path", "deploy", "--revision", "main", "--dest-namespace", target,
        "--sync-policy", "automated", "--auto-prune", "--self-heal",
    )  # fmt: skip
    assert code == 0, err
    first = upstream.head()

    code, out, err = await cli("wait", "shop", "--sync", "--health", "--timeout", "120")
    assert code == 0, err
    assert "Deployment" in out and "web" in out  # the live view's last frame lists the resources
    status = (await app_json())["status"]
    assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")
    assert status["sync"]["revision"] == first

    code, out, _ = await cli("get", "shop")
    assert code == 0 and "Synced" in out and "Healthy" in out and "Deployment" in out
    code, out, err = await cli("diff", "shop")
    assert code == 0, out + err
    code, out, _ = await cli("history", "shop", "-o", "json")
    assert [e["revision"] for e in json.loads(out)] == [first]

    # A second commit, picked up at once through a refresh.
    second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    code, _, err = await cli("get", "shop", "--refresh")
    assert code == 0, err
    await until(lambda: replicas() == 3, what="the second commit to reach the cluster")
    code, _, err = await cli("wait", "shop", "--sync", "--health", "--operation", "--timeout", "120")
    assert code == 0, err
    code, out, _ = await cli("history", "shop", "-o", "json")
    assert [e["revision"] for e in json.loads(out)] == [first, second]

    # Rollback: the first revision comes back, and automation stays off.
    code, _, err = await cli("rollback", "shop", "--timeout", "120")
    assert code == 0, err
    assert replicas() == 2
    app = await app_json()
    annotations = app["metadata"]["annotations"]
    assert annotations["gitward.dev/automation-paused"] == f"rollback to history 0 ({first[:12]})"
    code, out, err = await cli("get", "shop", "--refresh", "-o", "json")  # a full pass with the pause on
    assert code == 0, err
    status = json.loads(out)["status"]
    paused = next(c for c in status.get("conditions") or [] if c["type"] == "AutomationPaused")
    assert paused["message"] == (
        f"rollback to history 0 ({first[:12]}); run `gitward app sync shop` to resume"
    )
    assert status["sync"]["status"] == "OutOfSync"  # against main, honestly
    assert replicas() == 2
    assert status["history"][-1]["revision"] == first
    # What a sync would change now: main's 3 replicas; the deployed revision itself is no change.
    code, out, _ = await cli("diff", "shop")
    assert code == 1 and "replicas: 3" in out
    code, out, err = await cli("diff", "shop", "--revision", first)
    assert code == 0, out + err
    local = tmp_path / "local"
    local.mkdir()
    (local / "web.yaml").write_text(DEPLOYMENT.format(replicas=2))
    code, out, _ = await cli("diff", "shop", "--local", str(local))
    assert code == 0, out

    # A sync by hand resumes automation and deploys the target revision again.
    code, out, err = await cli("sync", "shop", "--timeout", "120")
    assert code == 0, err
    assert replicas() == 3
    app = await app_json()
    assert "gitward.dev/automation-paused" not in (app["metadata"].get("annotations") or {})
    code, out, _ = await cli("get", "shop", "-o", "json")
    status = json.loads(out)["status"]
    assert status["sync"]["status"] == "Synced"
    assert not any(c["type"] == "AutomationPaused" for c in status.get("conditions") or [])

    # Delete cascades: the app's objects go first, then the app.
    code, _, err = await cli("delete", "shop", "-y", "--wait", "--timeout", "120")
    assert code == 0, err
    assert live(cluster, "deployment", "web", target) is None
    assert live(cluster, "configmap", "settings", target) is None
    code, _, err = await cli("get", "shop")
    assert code == 2 and "not found" in err
