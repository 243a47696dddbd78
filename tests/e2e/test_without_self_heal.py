"""Without selfHeal a hand edit stays, and the app says so: OutOfSync, naming the edited object.

Two apps from one repository, served by one controller: `auto` syncs new
commits by itself but does not heal drift; `manual` has no automated policy
and changes the cluster only when a sync is requested.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import CONFIG, app_status, application, live, request_sync, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


def _resource(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in status.get("resources") or [] if r["kind"] == kind)


async def test_a_hand_edit_is_reported_not_reverted(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    first = upstream.head()
    targets = {"auto": f"auto-{secrets.token_hex(3)}", "manual": f"manual-{secrets.token_hex(3)}"}
    for name, target in targets.items():
        cluster.kubectl("create", "namespace", target)
        app = application(namespace, target, url, name=name)
        if name == "auto":
            app["spec"]["syncPolicy"] = {"automated": {"prune": True}}
        else:
            del app["spec"]["syncPolicy"]
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def state(name: str) -> tuple[str | None, str | None]:
        sync = app_status(cluster, namespace, name).get("sync") or {}
        return sync.get("status"), sync.get("revision")

    def replicas(name: str) -> int | None:
        found = live(cluster, "deployment", "web", targets[name])
        return found["spec"]["replicas"] if found else None

    # Without automated sync nothing is deployed until asked; the app reports what is missing.
    await until(lambda: state("auto") == ("Synced", first), what="the automated first sync")
    await until(lambda: state("manual") == ("OutOfSync", first), what="the manual app compared")
    assert live(cluster, "deployment", "web", targets["manual"]) is None
    request_sync(cluster, namespace, "manual")
    await until(lambda: state("manual") == ("Synced", first), what="the requested sync")
    assert replicas("manual") == 2

    for target in targets.values():
        cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=7")

    def out_of_sync(name: str) -> dict[str, Any] | None:
        status = app_status(cluster, namespace, name)
        return status if status.get("sync", {}).get("status") == "OutOfSync" else None

    for name in targets:
        status = await until(lambda name=name: out_of_sync(name), what=f"{name} to report the edit")
        assert _resource(status, "Deployment")["status"] == "OutOfSync"
        assert _resource(status, "ConfigMap")["status"] == "Synced"

    # Two more finished passes over every app: any of them would have healed, had it meant to.
    passes = controller.triggers.counts["poll"]
    await until(lambda: controller.triggers.counts["poll"] >= passes + 4, what="more reconciles")
    for name in targets:
        assert replicas(name) == 7, f"{name}: without selfHeal a hand edit stays"
        assert state(name) == ("OutOfSync", first)

    # A new commit is still synced by the automated app (the whole app, as Argo CD syncs it);
    # the manual app only reports it.
    second = upstream.commit({"deploy/config.yaml": CONFIG.format(colour="green")})

    def colour(name: str) -> str | None:
        found = live(cluster, "configmap", "settings", targets[name])
        return found["data"]["colour"] if found else None

    await until(lambda: state("auto") == ("Synced", second), what="the new commit synced")
    assert colour("auto") == "green"
    assert replicas("auto") == 2
    await until(lambda: state("manual") == ("OutOfSync", second), what="the manual app to see the commit")
    assert colour("manual") == "blue"
    assert replicas("manual") == 7
    status = app_status(cluster, namespace, "manual")
    assert _resource(status, "ConfigMap")["status"] == "OutOfSync"
    assert [h["revision"] for h in status["history"]] == [first]
