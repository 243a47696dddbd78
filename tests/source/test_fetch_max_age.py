"""A recent fetch serves the passes that are not refreshes: one fetch per few seconds, not one per app."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gitward.source import RepoCache
from tests.source.servers import Upstream, count_calls


async def test_a_recent_fetch_is_enough_unless_a_refresh_asks(
    tmp_path: Path, upstream: Upstream, daemon_url: str, counting_git: tuple[str, Path]
) -> None:
    git, log = counting_git
    cache = RepoCache(tmp_path / "cache", git=git)
    first = (await cache.resolve(daemon_url, "main")).sha
    fetched = count_calls(log, "fetch")

    second = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\nmetadata: {name: b}\n"})
    # Many apps resolving the same repository within max_age share the fetch already made.
    found = await asyncio.gather(*(cache.resolve(daemon_url, "main", max_age=60) for _ in range(20)))
    assert {f.sha for f in found} == {first}
    assert count_calls(log, "fetch") == fetched

    # A refresh (max_age 0, the default) always fetches, and sees the new commit.
    assert (await cache.resolve(daemon_url, "main")).sha == second
    assert count_calls(log, "fetch") == fetched + 1


async def test_an_old_fetch_is_not_enough(tmp_path: Path, upstream: Upstream, daemon_url: str) -> None:
    cache = RepoCache(tmp_path / "cache")
    await cache.resolve(daemon_url, "main")
    second = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\nmetadata: {name: c}\n"})
    await asyncio.sleep(0.3)

    assert (await cache.resolve(daemon_url, "main", max_age=0.1)).sha == second
