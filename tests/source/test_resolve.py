from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gitward.source import RepoCache, RepositoryNotFound, RepositoryUnreachable, RevisionNotFound
from tests.source.servers import Upstream, count_calls, git_daemon


@pytest.fixture
def cache(tmp_path: Path, counting_git: tuple[str, Path]) -> RepoCache:
    return RepoCache(tmp_path / "cache", git=counting_git[0])


async def test_branch_tags_sha_and_head_resolve_to_commits(
    cache: RepoCache, upstream: Upstream, daemon_url: str
) -> None:
    first = upstream.head()
    upstream.tag("light")
    upstream.tag("annotated", annotated=True)
    upstream.switch("feature", create=True)
    feature = upstream.commit({"f.yaml": "x: 1\n"})
    upstream.switch("main")

    assert (await cache.resolve(daemon_url, "main")).sha == first
    assert (await cache.resolve(daemon_url, "HEAD")).sha == first
    assert (await cache.resolve(daemon_url, "")).sha == first
    assert (await cache.resolve(daemon_url, "feature")).sha == feature
    assert (await cache.resolve(daemon_url, "light")).sha == first
    annotated = await cache.resolve(daemon_url, "annotated")
    assert (annotated.sha, annotated.ref) == (first, "refs/tags/annotated")
    assert (await cache.resolve(daemon_url, feature)).sha == feature
    assert (await cache.resolve(daemon_url, feature[:8])).sha == feature
    assert (await cache.resolve(daemon_url, "refs/heads/feature")).sha == feature


async def test_a_version_range_picks_the_highest_matching_tag(
    cache: RepoCache, upstream: Upstream, daemon_url: str
) -> None:
    shas = {}
    for tag in ("v1.0.0", "v1.2.0", "v1.2.7", "1.3.0", "v2.0.0-rc.1", "v2.0.0", "not-a-version"):
        shas[tag] = upstream.commit({"version": tag}, tag)
        upstream.tag(tag, annotated=tag.endswith("0"))

    async def pick(revision: str) -> str:
        found = await cache.resolve(daemon_url, revision)
        return found.ref.removeprefix("refs/tags/")

    assert await pick("1.2.*") == "v1.2.7"
    assert await pick("~1.2") == "v1.2.7"
    assert await pick("^1.2.0") == "1.3.0"
    assert await pick(">=1.0.0 <2.0.0") == "1.3.0"
    assert await pick(">=1.0.0, <1.3") == "v1.2.7"
    assert await pick("*") == "v2.0.0"
    assert await pick(">=2.0.0-0 <2.0.0") == "v2.0.0-rc.1"
    assert (await cache.resolve(daemon_url, "^1.2.0")).sha == shas["1.3.0"]
    with pytest.raises(RevisionNotFound, match=r"\^3\.0"):
        await cache.resolve(daemon_url, "^3.0")


async def test_two_hundred_apps_on_one_repository_cost_one_fetch_per_change(
    cache: RepoCache, upstream: Upstream, daemon_url: str, counting_git: tuple[str, Path]
) -> None:
    log = counting_git[1]
    await cache.resolve(daemon_url, "main")
    before = count_calls(log, "fetch")

    new = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\ndata: {a: b}\n"})
    results = await asyncio.gather(*(cache.resolve(daemon_url, "main") for _ in range(200)))

    assert {r.sha for r in results} == {new}
    assert count_calls(log, "fetch") - before == 1

    newer = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\ndata: {a: c}\n"})
    results = await asyncio.gather(*(cache.resolve(daemon_url, "main") for _ in range(200)))
    assert {r.sha for r in results} == {newer}
    assert count_calls(log, "fetch") - before == 2


async def test_a_caller_arriving_during_a_fetch_gets_a_fetch_that_started_after_it_asked(
    cache: RepoCache, upstream: Upstream, daemon_url: str, counting_git: tuple[str, Path]
) -> None:
    await cache.resolve(daemon_url, "main")
    before = count_calls(counting_git[1], "fetch")
    early = asyncio.ensure_future(cache.resolve(daemon_url, "main"))
    while count_calls(counting_git[1], "fetch") == before:  # until that fetch's process has started
        await asyncio.sleep(0.005)
    new = upstream.commit({"late.yaml": "x: 1\n"})
    late = await cache.resolve(daemon_url, "main")
    await early
    assert late.sha == new


async def test_after_a_force_push_the_new_commit_resolves_and_the_old_one_stays_usable(
    cache: RepoCache, upstream: Upstream, daemon_url: str
) -> None:
    old = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\nold: true\n"})
    assert (await cache.resolve(daemon_url, "main")).sha == old

    new = upstream.rewrite({"deploy/cm.yaml": "kind: ConfigMap\nnew: true\n"})
    found = await cache.resolve(daemon_url, "main")

    assert (found.sha, found.previous, found.forced) == (new, old, True)
    tree = await cache.checkout(daemon_url, old)
    assert "old: true" in (tree / "deploy/cm.yaml").read_text()


async def test_an_ordinary_push_is_not_reported_as_forced(
    cache: RepoCache, upstream: Upstream, daemon_url: str
) -> None:
    await cache.resolve(daemon_url, "main")
    upstream.commit({"more.yaml": "x: 1\n"})
    found = await cache.resolve(daemon_url, "main")
    assert found.previous is not None
    assert found.forced is False


async def test_a_deleted_branch_is_reported_and_its_last_commit_stays_usable(
    cache: RepoCache, upstream: Upstream, daemon_url: str
) -> None:
    upstream.switch("feature", create=True)
    feature = upstream.commit({"feature.yaml": "kind: ConfigMap\n"})
    upstream.switch("main")
    assert (await cache.resolve(daemon_url, "feature")).sha == feature

    upstream.delete_branch("feature")
    with pytest.raises(RevisionNotFound) as failure:
        await cache.resolve(daemon_url, "feature")

    assert failure.value.last_sha == feature
    assert failure.value.reason == "RevisionNotFound"
    assert "feature" in str(failure.value)
    assert (await cache.checkout(daemon_url, feature) / "feature.yaml").exists()


async def test_an_unreachable_server_is_reported_with_the_last_commit(
    tmp_path: Path, served: Path, upstream: Upstream
) -> None:
    cache = RepoCache(tmp_path / "cache")
    with git_daemon(served) as prefix:
        url = f"{prefix}/app"
        sha = (await cache.resolve(url, "main")).sha
    with pytest.raises(RepositoryUnreachable) as failure:
        await cache.resolve(url, "main")
    assert failure.value.last_sha == sha
    assert cache.last_resolved(url, "main") == sha


async def test_a_known_sha_resolves_without_any_fetch(
    cache: RepoCache, upstream: Upstream, daemon_url: str, counting_git: tuple[str, Path]
) -> None:
    sha = (await cache.resolve(daemon_url, "main")).sha
    before = count_calls(counting_git[1], "fetch")
    assert (await cache.resolve(daemon_url, sha)).sha == sha
    assert count_calls(counting_git[1], "fetch") == before


async def test_a_missing_repository_is_reported_as_such(cache: RepoCache, daemon_url: str) -> None:
    with pytest.raises(RepositoryNotFound, match="nothing-here"):
        await cache.resolve(daemon_url.replace("/app", "/nothing-here"), "main")
