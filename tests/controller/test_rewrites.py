"""When a force-push holds automated sync, and when a moved revision is a person's own choice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.rewrites import history_rewritten
from gitward.engine.desired import Revisioned
from gitward.model.application import Application
from gitward.source import RepoCache
from tests.source.servers import Upstream, git_daemon


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Upstream]]:
    upstream = Upstream(tmp_path / "served" / "app")
    upstream.commit({"deploy/a.yaml": "kind: ConfigMap\n"}, "first")
    with git_daemon(tmp_path / "served") as prefix:
        yield f"{prefix}/app", upstream


def app_at(url: str, revision: str, deployed: str, deployed_with: str | None = None) -> dict[str, Any]:
    source = {"repoURL": url, "path": "deploy", "targetRevision": revision}
    entry_source = {**source, "targetRevision": deployed_with or revision}
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": "ns"},
        "spec": {"destination": {"name": "in-cluster", "namespace": "shop"}, "source": source},
        "status": {"history": [{"id": 0, "revision": deployed, "source": entry_source}]},
    }


async def check(cache: RepoCache, obj: dict[str, Any]) -> dict[str, str] | None:
    app = Application.from_dict(obj)
    source = app.spec.all_sources[0]
    head = await cache.resolve(source.repo_url, source.target_revision)
    return await history_rewritten(cache, obj, app, Revisioned([head.sha], []))


async def test_only_a_branch_rewritten_under_an_unchanged_spec_is_held(
    tmp_path: Path, served: tuple[str, Upstream]
) -> None:
    url, upstream = served
    cache = RepoCache(tmp_path / "cache")
    first = upstream.head()
    second = upstream.commit({"deploy/a.yaml": "kind: ConfigMap\nx: 2\n"})
    assert await check(cache, app_at(url, "main", first)) is None, "a fast-forward follows on"

    upstream.rewrite({"deploy/a.yaml": "kind: ConfigMap\nx: 3\n"})
    held = await check(cache, app_at(url, "main", second))
    assert held is not None and held["type"] == "SyncError"
    assert second[:12] in held["message"] and "main" in held["message"]

    # The spec now names another revision (a pinned commit, a rollback): the person chose it.
    assert await check(cache, app_at(url, first, second, deployed_with="main")) is None
    assert await check(cache, app_at(url, "main", second, deployed_with=second)) is None


async def test_a_rewrite_the_cluster_already_matched_is_the_new_baseline(
    tmp_path: Path, served: tuple[str, Upstream]
) -> None:
    url, upstream = served
    cache = RepoCache(tmp_path / "cache")
    deployed = upstream.commit({"deploy/a.yaml": "kind: ConfigMap\nx: 2\n"})
    # Only the message changed: the pass after the push compared the new head Synced.
    amended = upstream.rewrite({"deploy/a.yaml": "kind: ConfigMap\nx: 2\n"})
    upstream.commit({"deploy/a.yaml": "kind: ConfigMap\nx: 3\n"})
    obj = app_at(url, "main", deployed)
    obj["status"]["sync"] = {
        "status": "Synced",
        "revision": amended,
        "comparedTo": {"source": obj["spec"]["source"]},
    }
    assert await check(cache, obj) is None
    obj["status"]["sync"]["status"] = "OutOfSync"
    assert await check(cache, obj) is not None, "without that comparison the deployed commit is the baseline"
