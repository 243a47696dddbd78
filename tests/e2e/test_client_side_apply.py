"""ServerSideApply=false through the controller: a key removed from Git is removed from the cluster."""

from __future__ import annotations

import json
import secrets

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import CONFIG, application, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


async def test_a_key_dropped_from_git_is_removed_by_a_client_side_apply(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    upstream.commit({"deploy/config.yaml": CONFIG.format(colour="blue") + "  size: big\n"})
    app = application(namespace, target, url)
    app["spec"]["syncPolicy"]["syncOptions"] = ["ServerSideApply=false"]
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def data() -> dict[str, str]:
        found = live(cluster, "configmap", "settings", target) or {}
        return dict(found.get("data") or {})

    await until(lambda: data() == {"colour": "blue", "size": "big"}, what="the first sync")
    annotations = (live(cluster, "configmap", "settings", target) or {})["metadata"]["annotations"]
    assert json.loads(annotations[LAST_APPLIED])["data"] == {"colour": "blue", "size": "big"}

    upstream.commit({"deploy/config.yaml": CONFIG.format(colour="blue")})

    await until(lambda: data() == {"colour": "blue"}, what="size removed from the cluster")
