from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitward.source import AuthenticationError, Credentials, RepoCache
from tests.source.servers import Upstream, count_calls


async def test_a_commit_is_materialised_read_only_with_its_files_and_symlinks(
    tmp_path: Path, upstream: Upstream, daemon_url: str
) -> None:
    upstream.commit({"deploy/sub/svc.yaml": "kind: Service\n"})
    (upstream.path / "deploy" / "link.yaml").symlink_to("sub/svc.yaml")
    sha = upstream.commit({})
    cache = RepoCache(tmp_path / "cache")

    tree = await cache.checkout(daemon_url, (await cache.resolve(daemon_url, "main")).sha)

    assert tree.name == sha
    assert (tree / "deploy/sub/svc.yaml").read_text() == "kind: Service\n"
    assert (tree / "deploy/link.yaml").readlink() == Path("sub/svc.yaml")
    assert not (tree / ".git").exists()
    mode = (tree / "deploy/cm.yaml").stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert not (tree / "deploy").stat().st_mode & stat.S_IWUSR


async def test_a_warm_checkout_runs_no_subprocess(
    tmp_path: Path, upstream: Upstream, daemon_url: str, counting_git: tuple[str, Path]
) -> None:
    cache = RepoCache(tmp_path / "cache", git=counting_git[0])
    sha = (await cache.resolve(daemon_url, "main")).sha
    first = await cache.checkout(daemon_url, sha)
    calls = counting_git[1].read_text()

    again = await cache.checkout(daemon_url, sha)
    assert again == first
    assert counting_git[1].read_text() == calls

    # A new process (a fresh cache object) finds the tree on disk, still without git.
    other = RepoCache(tmp_path / "cache", git=counting_git[0])
    assert await other.checkout(daemon_url, sha) == first
    assert counting_git[1].read_text() == calls


async def test_http_with_basic_auth_resolves_and_checks_out(
    tmp_path: Path, upstream: Upstream, http_repo: tuple[str, str, str], counting_git: tuple[str, Path]
) -> None:
    url, username, password = http_repo
    cache = RepoCache(tmp_path / "cache", git=counting_git[0])
    credentials = Credentials(username=username, password=password)

    sha = (await cache.resolve(url, "main", credentials=credentials)).sha
    tree = await cache.checkout(url, sha, credentials=credentials)

    assert sha == upstream.head()
    assert (tree / "deploy/cm.yaml").exists()
    # The secret travelled in the environment, never on a command line.
    assert count_calls(counting_git[1], "fetch") >= 1
    assert password not in counting_git[1].read_text()


async def test_a_wrong_password_is_a_clear_auth_error_without_the_password(
    tmp_path: Path, http_repo: tuple[str, str, str]
) -> None:
    url, username, _ = http_repo
    cache = RepoCache(tmp_path / "cache")
    wrong = "hunter2-not-it"
    with pytest.raises(AuthenticationError) as failure:
        await cache.resolve(url, "main", credentials=Credentials(username=username, password=wrong))
    message = str(failure.value)
    assert "authentication" in message
    assert url in message
    assert wrong not in message
    assert failure.value.reason == "AuthenticationFailed"
    assert wrong not in repr(Credentials(username=username, password=wrong))


async def test_no_credentials_for_a_protected_repository_says_so(
    tmp_path: Path, http_repo: tuple[str, str, str]
) -> None:
    with pytest.raises(AuthenticationError, match="no credentials were given"):
        await RepoCache(tmp_path / "cache").resolve(http_repo[0], "main")


async def test_a_password_in_the_url_never_appears_in_an_error(
    tmp_path: Path, http_repo: tuple[str, str, str]
) -> None:
    url, username, _ = http_repo
    leaky = url.replace("http://", f"http://{username}:sekrit-in-url@")
    with pytest.raises(AuthenticationError) as failure:
        await RepoCache(tmp_path / "cache").resolve(leaky, "main")
    assert "sekrit-in-url" not in str(failure.value)
