"""Malformed YAML stops one app, never its neighbours.

`shop` (deploy/ in the shop repository) gets a commit that does not parse.
`extra` (extra/ in the same repository, whose head is now that broken commit)
and `other` (another repository on the same server) keep syncing commits of
their own, while `shop` keeps its last good revision and names file and line.
"""

from __future__ import annotations

import json
import secrets

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import CONFIG, DEPLOYMENT, app_status, application, condition, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster


async def test_malformed_yaml_in_one_app_leaves_the_others_syncing(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, shop = repo
    # The daemon serves every repository under its base folder, so a second one is another URL.
    other = Upstream(shop.path.parent / "other")
    other.commit({"apps/web.yaml": DEPLOYMENT.format(replicas=1)})
    shop.commit({"extra/config.yaml": CONFIG.format(colour="red")})
    urls = {"shop": url, "extra": url, "other": url.rsplit("/", 1)[0] + "/other"}
    paths = {"shop": "deploy", "extra": "extra", "other": "apps"}
    targets = {name: f"{name}-{secrets.token_hex(3)}" for name in urls}
    for name, target in targets.items():
        cluster.kubectl("create", "namespace", target)
        app = application(namespace, target, urls[name], name=name, path=paths[name])
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def synced_at(name: str, revision: str) -> bool:
        sync = app_status(cluster, namespace, name).get("sync") or {}
        return sync.get("status") == "Synced" and sync.get("revision") == revision

    good = shop.head()
    for name, revision in (("shop", good), ("extra", good), ("other", other.head())):
        await until(lambda name=name, revision=revision: synced_at(name, revision), what=f"{name} synced")

    shop.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=5) + "  broken: [\n"})
    found = await until(
        lambda: condition(app_status(cluster, namespace, "shop"), "ComparisonError"),
        what="shop's ComparisonError",
    )
    assert "deploy/web.yaml:" in found["message"]

    # The neighbours keep following Git: the same repository past the broken commit, and another one.
    fixed_extra = shop.commit({"extra/config.yaml": CONFIG.format(colour="yellow")})
    other_next = other.commit({"apps/web.yaml": DEPLOYMENT.format(replicas=4)})
    await until(lambda: synced_at("extra", fixed_extra), what="extra to sync past the broken commit")
    await until(lambda: synced_at("other", other_next), what="the other repository's commit")
    assert (live(cluster, "configmap", "settings", targets["extra"]) or {})["data"]["colour"] == "yellow"
    assert (live(cluster, "deployment", "web", targets["other"]) or {})["spec"]["replicas"] == 4
    for name in ("extra", "other"):
        assert condition(app_status(cluster, namespace, name), "ComparisonError") is None

    # shop is where it was: its last good revision, the Deployment as that revision had it.
    status = app_status(cluster, namespace, "shop")
    assert status["sync"]["revision"] == good
    assert [h["revision"] for h in status["history"]] == [good]
    assert (live(cluster, "deployment", "web", targets["shop"]) or {})["spec"]["replicas"] == 2
    assert "deploy/web.yaml:" in (condition(status, "ComparisonError") or {}).get("message", "")
