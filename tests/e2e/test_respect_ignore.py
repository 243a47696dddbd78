"""RespectIgnoreDifferences through the controller: a new revision is synced without undoing what
ignoreDifferences hands to someone else (replicas an autoscaler owns)."""

from __future__ import annotations

import json
import secrets

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import DEPLOYMENT, application, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("respect", [True, False])
async def test_a_new_revision_keeps_the_scaled_replicas_only_with_respect_ignore_differences(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream], respect: bool
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    app = application(namespace, target, url)
    app["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]
    if respect:
        app["spec"]["syncPolicy"]["syncOptions"] = ["RespectIgnoreDifferences=true"]
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    await until(lambda: live(cluster, "deployment", "web", target), what="the first sync")
    cluster.kubectl("scale", "deployment", "web", "-n", target, "--replicas=5")

    # A new image in Git: an automated sync must apply it.
    upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=2).replace("web:1", "web:2")})

    def image() -> str:
        found = live(cluster, "deployment", "web", target) or {}
        return str(found["spec"]["template"]["spec"]["containers"][0]["image"])

    await until(lambda: image() == "registry.example/web:2", what="the new revision applied")
    replicas = (live(cluster, "deployment", "web", target) or {})["spec"]["replicas"]
    assert replicas == (5 if respect else 2)
