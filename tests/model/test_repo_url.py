"""gitward.model.repo_url: one normal form per repository URL, and a refusal for ambiguous ones."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gitward.engine.project_policy import source_permitted
from gitward.engine.repo_credentials import RepoCredential, match, parse
from gitward.model.fields import SpecError
from gitward.model.project import AppProject, AppProjectSpec
from gitward.model.repo_url import (
    ALLOW_LOCAL_ENV,
    RepoURLError,
    local_path,
    match_key,
    normalise,
    pattern_key,
    under,
)
from gitward.model.source import ApplicationSource
from gitward.render.tools import sandbox_env
from gitward.server.webhook_match import repo_key
from gitward.source import Credentials, RepoCache, RepositoryURLRefused
from gitward.source.credentials import base_environment
from gitward.source.mirror import mirror_key

TRAVERSALS = [
    "https://git.example/team-a/../team-b/x.git",
    "https://git.example/team-a/./../team-b/x.git",
    "https://git.example/team-a/%2e%2e/team-b/x.git",
    "https://git.example/team-a/%2E%2E/team-b/x.git",
    "https://git.example/team-a/%2E./team-b/x.git",
    "https://git.example/team-a/.%2e/team-b/x.git",
    "https://git.example/team-a/%252e%252e/team-b/x.git",
    "https://git.example/team-a%2f..%2fteam-b/x.git",
    "https://git.example/team-a/..%2fteam-b/x.git",
    "https://git.example/team-a/..%5cteam-b/x.git",
    "https://git.example/team-a\\..\\team-b/x.git",
    "https://git.example/team-a/..",
    "https://git.example/team-a/x.git?/../../team-b/x.git",
    "https://git.example/team-a/x.git#/../team-b",
    "https://git.example/team-a//../team-b/x.git",
    "git@git.example:team-a/../team-b/x.git",
    "ssh://git@git.example/team-a/../team-b/x.git",
    "git://git.example/team-a/%2e%2e/team-b/x.git",
]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://Git.Example/Org/Repo.git", "https://git.example/Org/Repo.git"),
        ("HTTPS://git.example:443/org/repo", "https://git.example/org/repo"),
        ("http://git.example:80/org/repo", "http://git.example/org/repo"),
        ("http://git.example:8080/org/repo", "http://git.example:8080/org/repo"),
        ("ssh://git@git.example:22/org/repo.git", "ssh://git@git.example/org/repo.git"),
        ("git://127.0.0.1:9418/shop", "git://127.0.0.1/shop"),
        ("git@GitHub.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://git.example/org/%7euser/%41pp", "https://git.example/org/~user/App"),
        ("https://git.example/org/a%20b", "https://git.example/org/a%20b"),
        ("https://git.example/org/a%c3%a9", "https://git.example/org/a%C3%A9"),
        ("https://git.example/org/repo/", "https://git.example/org/repo/"),
        ("https://[::1]:8443/org/repo", "https://[::1]:8443/org/repo"),
    ],
)
def test_accepted_urls_get_their_rfc_3986_normal_form(url: str, normal: str) -> None:
    assert normalise(url) == normal
    assert normalise(normal) == normal


@pytest.mark.parametrize("url", TRAVERSALS)
def test_anything_that_could_be_read_as_another_path_is_refused(url: str) -> None:
    with pytest.raises(RepoURLError):
        normalise(url)
    with pytest.raises(RepoURLError):
        match_key(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///srv/git/repo", "file transport is not allowed"),
        ("/srv/git/repo", "local path"),
        ("repo", "local path"),
        ("./repo", "local path"),
        ("fd::17", "'fd':: transport"),
        ("ext::sh -c touch% /tmp/pwned", "'ext':: transport"),
        ("ftp://git.example/repo", "'ftp' transport"),
        ("--upload-pack=touch /tmp/x", "starts with '-'"),
        ("-oProxyCommand=x:y", "starts with '-'"),
        ("ssh://-oProxyCommand=x/repo", "host starts with '-'"),
        ("ssh://-oProxyCommand=x@host/repo", "user name starts with '-'"),
        ("https://a@b@git.example/repo", "more than one '@'"),
        ("https://git.example:0/repo", "port"),
        ("https://git.example:99999/repo", "port"),
        ("https://git.ex%61mple/repo", "host"),
        ("https://git.example/repo\n", "control character"),
        ("https://git.example/re po", "whitespace"),
        ("https://git.example/repo%", "not a percent-escape"),
        ("https://git.example/repo%00", "control character"),
        ("", "empty"),
    ],
)
def test_refusals_say_why(url: str, why: str) -> None:
    with pytest.raises(RepoURLError) as refused:
        normalise(url)
    assert why in str(refused.value)


def test_a_refusal_never_repeats_the_user_info() -> None:
    with pytest.raises(RepoURLError) as refused:
        normalise("https://bot:hunter2@git.example/team-a/../team-b")
    assert "hunter2" not in str(refused.value)


def test_local_repositories_only_with_the_opt_in() -> None:
    assert normalise("file:///srv/git/repo", allow_local=True) == "file:///srv/git/repo"
    assert normalise("/srv/git/repo", allow_local=True) == "/srv/git/repo"
    with pytest.raises(RepoURLError):
        normalise("file:///srv/git/../other", allow_local=True)
    with pytest.raises(RepoURLError):
        normalise("file://otherhost/srv/git/repo", allow_local=True)
    with pytest.raises(RepoURLError):
        normalise("fd::3", allow_local=True)
    assert local_path("file:///srv/git/a%20b") == "/srv/git/a b"
    assert local_path("https://git.example/x") is None


def test_chart_repositories_are_helm_or_oci() -> None:
    assert normalise("oci://Registry.example/charts", chart=True) == "oci://registry.example/charts"
    assert normalise("registry.example:5000/charts", chart=True) == "registry.example:5000/charts"
    assert normalise("https://charts.example", chart=True) == "https://charts.example"
    for bad in ("git://charts.example/x", "file:///charts", "oci://registry.example/a/../b"):
        with pytest.raises(RepoURLError):
            normalise(bad, chart=True)


def test_match_keys_are_one_per_repository_however_spelled() -> None:
    spellings = [
        "https://git.example/org/repo",
        "https://git.example/org/repo.git",
        "https://git.example/org/repo/",
        "HTTPS://GIT.EXAMPLE:443/org/repo.git",
        "https://bot:secret@git.example/org/repo.git",
        "https://git.example/org/%72epo",
    ]
    assert {match_key(u) for u in spellings} == {"https://git.example/org/repo"}
    assert match_key("git@git.example:org/repo.git") == "git.example:org/repo"
    assert pattern_key("https://Git.Example:443/org/*.git") == "https://git.example/org/*"
    assert pattern_key("git@git.example:org/*") == "git.example:org/*"


def test_prefixes_match_whole_path_segments_only() -> None:
    assert under("https://git.example/team-a/x", "https://git.example/team-a")
    assert under("https://git.example/team-a", "https://git.example/team-a/")
    assert not under("https://git.example/team-ab/x", "https://git.example/team-a")
    assert not under("https://git.example/team-b/x", "")


def project(*repos: str) -> AppProject:
    return AppProject(metadata={"name": "team-a"}, spec=AppProjectSpec(source_repos=repos))


@pytest.mark.parametrize("url", TRAVERSALS)
def test_source_repos_never_permit_a_traversal(url: str) -> None:
    assert not source_permitted(project("https://git.example/team-a/**", "git@git.example:team-a/**"), url)
    assert not source_permitted(project("*"), url)


def test_source_repos_compare_normal_forms() -> None:
    team_a = project("https://git.example/team-a/*")
    assert source_permitted(team_a, "HTTPS://Git.Example:443/team-a/x.git")
    assert not source_permitted(team_a, "https://git.example/team-ab/x.git")
    assert not source_permitted(team_a, "https://git.example/team-a/sub/x.git")


def test_credentials_are_chosen_on_normal_forms_and_segment_boundaries() -> None:
    team_a = RepoCredential("https://git.example/team-a", Credentials(token="a"), True, "gitward/team-a")
    assert match([team_a], "https://GIT.example:443/team-a/x.git") is team_a
    assert match([team_a], "https://git.example/team-ab/x.git") is None
    for url in TRAVERSALS:
        assert match([team_a], url) is None, url


def test_webhooks_never_match_a_refused_url_to_a_real_repository() -> None:
    real = repo_key("https://git.example/team-b/x.git")
    assert all(repo_key(url) != real for url in TRAVERSALS)
    assert repo_key("git@git.example:team-b/x.git") == real


def test_the_spec_refuses_them_naming_the_field() -> None:
    with pytest.raises(SpecError, match=r"^spec\.source\.repoURL: has a '\.' or '\.\.' path segment"):
        ApplicationSource.from_dict({"repoURL": TRAVERSALS[0]}, "spec.source")
    with pytest.raises(SpecError, match=r"^source\.repoURL: the file transport is not allowed"):
        ApplicationSource.from_dict({"repoURL": "file:///srv/repo"})
    with pytest.raises(SpecError, match=r"^source\.targetRevision: must not start with '-'"):
        ApplicationSource.from_dict({"repoURL": "https://git.example/x", "targetRevision": "--upload-pack=x"})
    # The spec keeps the URL as written: status and diffs show what the user wrote.
    written = "https://Git.Example/org/repo.git"
    assert ApplicationSource.from_dict({"repoURL": written}).repo_url == written


def test_the_spec_accepts_local_repositories_with_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_LOCAL_ENV, "1")
    assert ApplicationSource.from_dict({"repoURL": "file:///srv/repo"}).repo_url == "file:///srv/repo"


def test_git_runs_with_only_remote_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_LOCAL_ENV, raising=False)
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "ext:fd:file")  # the caller's own environment is ignored
    assert base_environment()["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git"
    monkeypatch.setenv(ALLOW_LOCAL_ENV, "1")
    assert base_environment()["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git:file"


def test_the_mirror_key_is_one_per_repository_and_keeps_the_path_case() -> None:
    assert mirror_key("https://Git.Example:443/org/Repo.git") == mirror_key("https://git.example/org/Repo/")
    assert mirror_key("https://git.example/org/Repo") != mirror_key("https://git.example/org/repo")
    with pytest.raises(RepositoryURLRefused):
        mirror_key("https://git.example/team-a/%2e%2e/team-b")


async def test_the_cache_refuses_local_urls_and_its_own_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = RepoCache(tmp_path / "cache")
    monkeypatch.delenv(ALLOW_LOCAL_ENV, raising=False)
    with pytest.raises(RepositoryURLRefused, match="file transport is not allowed"):
        await cache.resolve(f"file://{tmp_path}/repo")
    monkeypatch.setenv(ALLOW_LOCAL_ENV, "1")
    other = tmp_path / "cache" / "mirrors" / "someone-else"
    other.mkdir(parents=True)
    with pytest.raises(RepositoryURLRefused, match="gitward's own cache"):
        await cache.resolve(f"file://{other}")
    with pytest.raises(RepositoryURLRefused, match="gitward's own cache"):
        await cache.resolve(str(other))


def test_chart_repositories_are_matched_on_the_same_normal_form() -> None:
    assert source_permitted(project("*"), "oci://registry.example/charts")
    assert source_permitted(project("oci://registry.example/*"), "oci://Registry.example/charts")
    assert not source_permitted(project("oci://registry.example/*"), "oci://registry.example/a/../b")
    oci = RepoCredential("oci://registry.example/charts", Credentials(password="p"), False, "gitward/oci")
    assert match([oci], "oci://registry.example/charts/") is oci


def test_a_secret_whose_url_is_refused_is_reported_by_name() -> None:
    bad = {
        "metadata": {
            "name": "odd",
            "namespace": "gitward",
            "labels": {"gitward.dev/secret-type": "repo-creds"},
        },
        "data": {
            "url": base64.b64encode(b"https://bot:hunter2@git.example/team-a/..").decode(),
            "password": base64.b64encode(b"hunter2").decode(),
        },
    }
    found, problems = parse([bad])
    assert found == [] and len(problems) == 1
    assert problems[0].startswith("Secret gitward/odd: field `url` has a '.' or '..' path segment")
    assert "hunter2" not in problems[0]


def test_a_folder_the_cli_renders_in_place_is_no_repository_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_LOCAL_ENV, raising=False)
    spec = {"repoURL": "./my checkout", "path": "deploy"}
    assert ApplicationSource.from_dict(spec, local_folder=True).repo_url == "./my checkout"
    with pytest.raises(SpecError, match="local path"):
        ApplicationSource.from_dict({**spec, "repoURL": "./checkout"})


def test_renders_that_may_reach_the_network_run_git_with_remote_transports_only(tmp_path: Path) -> None:
    # kustomize's remote bases run git: a file:// base would read this machine's repositories.
    assert sandbox_env(tmp_path, network=True)["GIT_ALLOW_PROTOCOL"] == "https:http:ssh:git"
