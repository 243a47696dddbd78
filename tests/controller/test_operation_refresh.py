"""The refresh annotation: Git is looked at now, not at the next poll; `hard` also renders afresh."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.e2e import conftest as e2e
from tests.e2e.support import DEPLOYMENT, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

# The end-to-end tests' Git server and slow-polling controller, shared rather than copied.
repo = e2e.repo
slow_poll = e2e.slow_poll


async def test_a_refresh_fetches_now_and_a_hard_one_renders_afresh(
    cluster: Cluster, namespace: str, slow_poll: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    target = f"rf-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))
    first = upstream.head()

    def app() -> dict[str, Any]:
        found: dict[str, Any] = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return found

    def annotated() -> bool:
        return bool(
            set(app()["metadata"].get("annotations") or {})
            & {"gitward.dev/refresh", "argocd.argoproj.io/refresh"}
        )

    def refresh(kind: str, annotation: str = "gitward.dev/refresh") -> None:
        cluster.kubectl(
            "annotate", "applications.gitward.dev", "shop", "-n", namespace, f"{annotation}={kind}"
        )

    await until(
        lambda: (app().get("status") or {}).get("sync", {}).get("revision") == first, what="the first sync"
    )
    second = upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=3)})
    assert app()["status"]["sync"]["revision"] == first, "nothing looks at Git for ten minutes"

    refresh("normal")
    await until(lambda: app()["status"]["sync"]["revision"] == second, what="the refresh to find the commit")
    await until(lambda: not annotated(), what="the annotation to be removed")
    assert cluster.get_json("deployment", "web", "-n", target)["spec"]["replicas"] == 3
    assert slow_poll.triggers.counts["refresh"] >= 1

    cache = slow_poll.reconciler.desired.renderer.cache
    misses = cache.misses
    refresh("normal")
    await until(lambda: not annotated(), what="the normal refresh to finish")
    assert cache.misses == misses, "an unchanged commit renders from the cache"
    refresh("hard", "argocd.argoproj.io/refresh")
    await until(lambda: not annotated(), what="the hard refresh to finish")
    assert cache.misses > misses, "a hard refresh renders again"
