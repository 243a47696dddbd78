"""Webhook parts without a cluster: each provider's payload and signature, and which apps a push concerns."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from gitward.server.webhook_auth import Unauthorized, check
from gitward.server.webhook_match import matching, ref_matches, repo_key, watched_paths
from gitward.server.webhook_payloads import PayloadError, Provider, Push, detect, is_ping, is_push, parse

SECRETS = {
    "github.secret": "gh-s3cret",
    "gitea.secret": "gt-s3cret",
    "gitlab.secret": "gl-s3cret",
    "bitbucket.uuid": "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
    "gogs.secret": "gg-s3cret",
    "bitbucketserver.secret": "bbs-s3cret",
}


def github_push(files: list[str], ref: str = "refs/heads/main", commits: int = 1) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": "1" * 40,
        "after": "2" * 40,
        "created": False,
        "deleted": False,
        "repository": {
            "name": "shop",
            "full_name": "acme/shop",
            "html_url": "https://github.com/acme/shop",
            "clone_url": "https://github.com/acme/shop.git",
            "git_url": "git://github.com/acme/shop.git",
            "ssh_url": "git@github.com:acme/shop.git",
            "default_branch": "main",
        },
        "commits": [
            {"id": f"{i:040d}", "added": files[:1], "modified": files[1:], "removed": []}
            for i in range(commits)
        ],
        "head_commit": {"id": "2" * 40},
    }


def gitlab_push(files: list[str]) -> dict[str, Any]:
    return {
        "object_kind": "push",
        "event_name": "push",
        "ref": "refs/heads/main",
        "checkout_sha": "3" * 40,
        "project": {
            "path_with_namespace": "platform/shop",
            "web_url": "https://gitlab.example.org/platform/shop",
            "git_ssh_url": "git@gitlab.example.org:platform/shop.git",
            "git_http_url": "https://gitlab.example.org/platform/shop.git",
            "default_branch": "main",
        },
        "commits": [{"id": "3" * 40, "added": [], "modified": files, "removed": []}],
        "total_commits_count": 1,
    }


def gitea_push(files: list[str], total: int = 1) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": "4" * 40,
        "after": "5" * 40,
        "commits": [{"id": "5" * 40, "added": [], "modified": [], "removed": files}],
        "total_commits": total,
        "repository": {
            "full_name": "ops/shop",
            "html_url": "https://gitea.example.net/ops/shop",
            "clone_url": "https://gitea.example.net/ops/shop.git",
            "ssh_url": "ssh://git@gitea.example.net:2222/ops/shop.git",
            "default_branch": "main",
        },
    }


def bitbucket_push(kind: str = "branch", name: str = "main") -> dict[str, Any]:
    return {
        "actor": {"display_name": "Dev"},
        "repository": {
            "type": "repository",
            "full_name": "team/shop",
            "name": "shop",
            "links": {"html": {"href": "https://bitbucket.org/team/shop"}},
            "scm": "git",
        },
        "push": {
            "changes": [
                {
                    "new": {"type": kind, "name": name, "target": {"hash": "6" * 40}},
                    "old": {"type": kind, "name": name, "target": {"hash": "7" * 40}},
                    "created": False,
                    "closed": False,
                },
                {"new": None, "old": {"type": "branch", "name": "gone"}, "closed": True},
            ]
        },
    }


def bitbucket_server_push(*changes: tuple[str, str]) -> dict[str, Any]:
    """repo:refs_changed with one change per (ref, type): ADD, UPDATE or DELETE."""
    return {
        "eventKey": "repo:refs_changed",
        "date": "2026-11-30T10:00:00+0000",
        "actor": {"name": "dev", "displayName": "Dev"},
        "repository": {
            "slug": "shop",
            "name": "shop",
            "project": {"key": "OPS", "name": "Operations"},
            "links": {
                "clone": [
                    {"href": "ssh://git@bitbucket.example.com:7999/ops/shop.git", "name": "ssh"},
                    {"href": "https://bitbucket.example.com/scm/ops/shop.git", "name": "http"},
                ],
                "self": [{"href": "https://bitbucket.example.com/projects/OPS/repos/shop/browse"}],
            },
        },
        "changes": [
            {
                "ref": {
                    "id": ref,
                    "displayId": ref.rsplit("/", 1)[-1],
                    "type": "TAG" if "tags" in ref else "BRANCH",
                },
                "refId": ref,
                "fromHash": "0" * 40 if kind == "ADD" else "8" * 40,
                "toHash": "0" * 40 if kind == "DELETE" else "9" * 40,
                "type": kind,
            }
            for ref, kind in changes
        ],
    }


def gogs_push(files: list[str], commits: int = 1) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
        "compare_url": "https://gogs.example.com/dev/shop/compare/aaaa...bbbb",
        "commits": [
            {"id": f"{i:040x}", "message": "change", "added": files, "modified": [], "removed": []}
            for i in range(commits)
        ],
        "repository": {
            "full_name": "dev/shop",
            "html_url": "https://gogs.example.com/dev/shop",
            "clone_url": "https://gogs.example.com/dev/shop.git",
            "ssh_url": "git@gogs.example.com:dev/shop.git",
            "default_branch": "main",
        },
        "pusher": {"username": "dev"},
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def test_each_provider_is_recognised_by_its_event_header_gitea_before_its_github_compatibility_header() -> (
    None
):
    assert detect({"x-github-event": "push"}) == (Provider.github, "push")
    assert detect({"x-gitlab-event": "Push Hook"}) == (Provider.gitlab, "Push Hook")
    assert detect({"x-gitea-event": "push", "x-github-event": "push"}) == (Provider.gitea, "push")
    assert detect({"x-event-key": "repo:push"}) == (Provider.bitbucket, "repo:push")
    assert detect({"content-type": "application/json"}) is None
    assert is_push(Provider.gitlab, "Tag Push Hook") and not is_push(Provider.gitlab, "Merge Request Hook")
    assert not is_push(Provider.github, "ping") and is_push(Provider.bitbucket, "repo:push")


def test_gogs_and_bitbucket_server_are_told_from_gitea_and_bitbucket_cloud() -> None:
    assert detect({"x-gogs-event": "push"}) == (Provider.gogs, "push")
    # Gitea sends X-Gogs-Event as well: its own header wins.
    assert detect({"x-gitea-event": "push", "x-gogs-event": "push"}) == (Provider.gitea, "push")
    assert detect({"x-event-key": "repo:refs_changed"}) == (Provider.bitbucketserver, "repo:refs_changed")
    assert detect({"x-event-key": "diagnostics:ping"}) == (Provider.bitbucketserver, "diagnostics:ping")
    # Bitbucket Cloud always sends X-Hook-UUID, whatever the event.
    cloud = {"x-event-key": "pullrequest:created", "x-hook-uuid": "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}"}
    assert detect(cloud) == (Provider.bitbucket, "pullrequest:created")
    assert is_push(Provider.bitbucketserver, "repo:refs_changed") and is_push(Provider.gogs, "push")
    assert not is_push(Provider.bitbucketserver, "repo:push") and not is_push(
        Provider.bitbucketserver, "pr:opened"
    )
    assert is_ping(Provider.bitbucketserver, "diagnostics:ping")
    assert not is_push(Provider.bitbucketserver, "diagnostics:ping")
    assert not is_ping(Provider.github, "ping")  # GitHub's ping stays an ignored event (202)


def test_github_push_gives_every_repository_url_the_ref_and_the_changed_files() -> None:
    push = parse(Provider.github, body(github_push(["apps/a/new.yaml", "apps/b/web.yaml"])))
    assert push.refs == ("refs/heads/main",)
    assert push.default_branch == "main"
    assert push.sha == "2" * 40
    assert push.files == frozenset({"apps/a/new.yaml", "apps/b/web.yaml"})
    assert "git@github.com:acme/shop.git" in push.urls and "https://github.com/acme/shop.git" in push.urls


def test_a_deleted_branch_points_at_no_commit() -> None:
    deleted = {**github_push([]), "deleted": True, "after": "0" * 40, "commits": []}
    push = parse(Provider.github, body(deleted))
    assert push.sha is None and push.files is None


def test_a_github_payload_at_its_commit_limit_counts_as_listing_no_files() -> None:
    assert parse(Provider.github, body(github_push(["a/x.yaml"], commits=20))).files is None
    assert parse(Provider.github, body(github_push(["a/x.yaml"], commits=19))).files == frozenset(
        {"a/x.yaml"}
    )


def test_gitlab_and_gitea_payloads() -> None:
    gitlab = parse(Provider.gitlab, body(gitlab_push(["deploy/web.yaml"])))
    assert gitlab.files == frozenset({"deploy/web.yaml"})
    assert gitlab.sha == "3" * 40  # no `after` in this payload: its checkout_sha
    assert "git@gitlab.example.org:platform/shop.git" in gitlab.urls
    gitea = parse(Provider.gitea, body(gitea_push(["deploy/old.yaml"])))
    assert gitea.files == frozenset({"deploy/old.yaml"})  # removed files count too
    assert parse(Provider.gitea, body(gitea_push(["deploy/old.yaml"], total=40))).files is None


def test_bitbucket_gives_refs_from_its_changes_and_no_files() -> None:
    push = parse(Provider.bitbucket, body(bitbucket_push()))
    assert push.refs == ("refs/heads/main",)  # the deleted branch (new: null) refreshes nothing
    assert push.files is None
    assert push.sha == "6" * 40
    assert repo_key("git@bitbucket.org:team/shop.git") in {repo_key(u) for u in push.urls}
    assert parse(Provider.bitbucket, body(bitbucket_push("tag", "v1.2.0"))).refs == ("refs/tags/v1.2.0",)


def test_bitbucket_server_gives_clone_urls_and_updated_refs_and_no_files() -> None:
    push = parse(
        Provider.bitbucketserver,
        body(bitbucket_server_push(("refs/heads/main", "UPDATE"), ("refs/heads/old", "DELETE"))),
    )
    assert push.refs == ("refs/heads/main",)  # the deleted branch refreshes nothing
    assert push.files is None and push.default_branch is None
    assert push.sha == "9" * 40
    keys = {repo_key(u) for u in push.urls}
    assert repo_key("https://dev@bitbucket.example.com/scm/ops/shop.git") in keys
    assert repo_key("ssh://git@bitbucket.example.com:7999/ops/shop.git") in keys
    two = parse(
        Provider.bitbucketserver,
        body(bitbucket_server_push(("refs/heads/main", "UPDATE"), ("refs/tags/v1.2.0", "ADD"))),
    )
    assert two.refs == ("refs/heads/main", "refs/tags/v1.2.0")
    assert two.sha is None  # two refs moved: no single commit to wait for
    # A push that only deletes is still a push: it refreshes nothing, and Bitbucket sees it accepted.
    deleted = parse(Provider.bitbucketserver, body(bitbucket_server_push(("refs/heads/old", "DELETE"))))
    assert deleted.refs == () and deleted.sha is None
    with pytest.raises(PayloadError, match="no `changes`"):
        parse(Provider.bitbucketserver, body({"repository": bitbucket_server_push()["repository"]}))
    with pytest.raises(PayloadError, match="no repository URL"):
        parse(
            Provider.bitbucketserver,
            body({**bitbucket_server_push(("refs/heads/main", "UPDATE")), "repository": {}}),
        )


def test_a_bitbucket_server_push_refreshes_every_app_of_its_repository_and_branch() -> None:
    apps = [
        app("a", "https://bitbucket.example.com/scm/ops/shop.git", "apps/a"),
        app("b", "ssh://git@bitbucket.example.com:7999/ops/shop.git", "apps/b"),
        app("c", "https://bitbucket.example.com/scm/ops/shop.git", "apps/c", target="release"),
        app("d", "https://bitbucket.example.com/scm/ops/other.git", "apps/a"),
    ]
    push = parse(Provider.bitbucketserver, body(bitbucket_server_push(("refs/heads/main", "UPDATE"))))
    assert [n for _, n in matching(apps, push)] == ["a", "b"]


def test_gogs_lists_files_like_gitea_but_a_payload_at_its_commit_limit_lists_none() -> None:
    push = parse(Provider.gogs, body(gogs_push(["apps/a/web.yaml"])))
    assert push.provider is Provider.gogs
    assert push.files == frozenset({"apps/a/web.yaml"})
    assert push.sha == "b" * 40 and push.default_branch == "main"
    assert "git@gogs.example.com:dev/shop.git" in push.urls
    assert parse(Provider.gogs, body(gogs_push(["apps/a/web.yaml"], commits=4))).files is not None
    assert parse(Provider.gogs, body(gogs_push(["apps/a/web.yaml"], commits=5))).files is None
    # Gitea sends the same five with its total: it is known to be complete.
    gitea = {**gogs_push(["apps/a/web.yaml"], commits=5), "total_commits": 5}
    assert parse(Provider.gitea, body(gitea)).files == frozenset({"apps/a/web.yaml"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"payload=%7B%7D", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"ref": "refs/heads/main", "repository": {}}).encode(), "no repository URL"),
        (json.dumps({"repository": {"clone_url": "https://h/r.git"}}).encode(), "no `ref`"),
    ],
)
def test_unreadable_payloads_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(Provider.github, data)


def test_signatures_and_tokens() -> None:
    data = body(github_push(["a"]))
    check(Provider.github, {"x-hub-signature-256": "sha256=" + sign("gh-s3cret", data)}, data, SECRETS)
    check(Provider.gitea, {"x-gitea-signature": sign("gt-s3cret", data)}, data, SECRETS)
    check(Provider.gitlab, {"x-gitlab-token": "gl-s3cret"}, data, SECRETS)
    check(Provider.bitbucket, {"x-hook-uuid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, data, SECRETS)
    # Bitbucket Cloud's webhook secret, when configured, is required instead of the UUID.
    signed = {**SECRETS, "bitbucket.secret": "bb-s3cret"}
    check(Provider.bitbucket, {"x-hub-signature": "sha256=" + sign("bb-s3cret", data)}, data, signed)
    with pytest.raises(Unauthorized):
        check(Provider.bitbucket, {"x-hook-uuid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, data, signed)
    check(Provider.gogs, {"x-gogs-signature": sign("gg-s3cret", data)}, data, SECRETS)
    check(Provider.bitbucketserver, {"x-hub-signature": "sha256=" + sign("bbs-s3cret", data)}, data, SECRETS)


@pytest.mark.parametrize(
    ("provider", "headers", "secrets"),
    [
        (Provider.github, {"x-hub-signature-256": "sha256=" + "0" * 64}, SECRETS),
        (Provider.github, {}, SECRETS),
        (Provider.github, {"x-hub-signature": "sha1=" + "0" * 40}, SECRETS),  # the old SHA-1 header only
        (Provider.gitea, {"x-gitea-signature": sign("wrong", b"{}")}, SECRETS),
        (Provider.gitlab, {"x-gitlab-token": "gl-s3cre"}, SECRETS),
        (Provider.bitbucket, {"x-hook-uuid": "{00000000-0000-0000-0000-000000000000}"}, SECRETS),
        (Provider.gogs, {"x-gogs-signature": sign("gt-s3cret", b"{}")}, SECRETS),  # Gitea's secret
        (Provider.gogs, {"x-gitea-signature": sign("gg-s3cret", b"{}")}, SECRETS),  # the wrong header
        (Provider.bitbucketserver, {"x-hub-signature": "sha256=" + sign("wrong", b"{}")}, SECRETS),
        (Provider.bitbucketserver, {"x-hub-signature": sign("bbs-s3cret", b"{}")}, SECRETS),  # no sha256=
        (Provider.bitbucketserver, {"x-hook-uuid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}, SECRETS),
        (
            Provider.bitbucketserver,
            {"x-hub-signature": "sha256=" + sign("", b"{}")},
            {"bitbucket.secret": "x"},
        ),
        (Provider.github, {"x-hub-signature-256": "sha256=" + sign("", b"{}")}, {}),  # nothing configured
    ],
)
def test_a_wrong_missing_or_unconfigured_secret_is_refused_without_quoting_it(
    provider: Provider, headers: dict[str, str], secrets: dict[str, str]
) -> None:
    with pytest.raises(Unauthorized) as refused:
        check(provider, headers, b"{}", secrets)
    assert not any(value in str(refused.value) for value in SECRETS.values())


def test_one_key_for_the_https_ssh_and_git_urls_of_a_repository() -> None:
    same = {
        repo_key(u)
        for u in (
            "https://github.com/Acme/Shop.git",
            "https://github.com/acme/shop/",
            "git@github.com:acme/shop.git",
            "ssh://git@github.com:22/acme/shop",
            "git://github.com/acme/shop",
        )
    }
    assert same == {"github.com/acme/shop"}
    assert repo_key("https://github.com/acme/shop-api.git") != repo_key("https://github.com/acme/shop.git")


@pytest.mark.parametrize(
    ("target", "ref", "default", "expected"),
    [
        ("main", "refs/heads/main", "main", True),
        ("main", "refs/heads/dev", "main", False),
        ("HEAD", "refs/heads/main", "main", True),
        ("", "refs/heads/dev", "main", False),
        ("HEAD", "refs/heads/dev", None, True),  # the payload does not say which branch is the default
        ("refs/heads/main", "refs/heads/main", None, True),
        ("refs/tags/main", "refs/heads/main", None, False),
        ("v1.2.0", "refs/tags/v1.2.0", None, True),
        ("^1.2.0", "refs/tags/v1.4.1", None, True),
        ("^1.2.0", "refs/tags/v2.0.0", None, False),
        ("^1.2.0", "refs/heads/main", None, False),
        ("0123456789abcdef0123456789abcdef01234567", "refs/heads/main", "main", False),
    ],
)
def test_which_target_revisions_a_pushed_ref_matches(
    target: str, ref: str, default: str | None, expected: bool
) -> None:
    assert ref_matches(target, ref, default) is expected


def test_manifest_generate_paths_relative_absolute_and_dot() -> None:
    assert watched_paths("apps/web", None) == ["apps/web"]
    assert watched_paths("apps/web", ".;../common;/charts/base") == ["apps/web", "apps/common", "charts/base"]
    assert watched_paths("", None) == [""]
    assert watched_paths("apps/web", "/") == [""]


def app(
    name: str, url: str, path: str, target: str = "main", annotation: str | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "gitward"}
    if annotation is not None:
        metadata["annotations"] = {"gitward.dev/manifest-generate-paths": annotation}
    return {
        "metadata": metadata,
        "spec": {"source": {"repoURL": url, "path": path, "targetRevision": target}},
    }


def test_a_push_concerns_apps_of_its_repository_ref_and_touched_paths_only() -> None:
    apps = [
        app("a", "git@github.com:acme/shop.git", "apps/a"),
        app("b", "https://github.com/acme/shop", "apps/b"),
        app("ab", "https://github.com/acme/shop", "apps/ab"),  # a prefix of the name is not the folder
        app("c", "https://github.com/acme/other.git", "apps/a"),
        app("d", "https://github.com/acme/shop.git", "apps/a", target="release"),
        app("e", "https://github.com/acme/shop.git", "apps/e", annotation="../a"),
        app("f", "https://github.com/acme/shop.git", "apps/a", annotation="/docs"),
    ]
    push = parse(Provider.github, body(github_push(["apps/a/web.yaml"])))
    assert [n for _, n in matching(apps, push)] == ["a", "e"]
    unknown = Push(push.provider, push.urls, push.refs, push.default_branch, None)
    assert [n for _, n in matching(apps, unknown)] == ["a", "b", "ab", "e", "f"]


def test_every_source_of_a_multi_source_app_is_considered_and_charts_are_not() -> None:
    multi = {
        "metadata": {"name": "m", "namespace": "gitward"},
        "spec": {
            "sources": [
                {"repoURL": "https://charts.example/", "chart": "web", "targetRevision": "1.0.0"},
                {"repoURL": "https://github.com/acme/values.git", "targetRevision": "main", "ref": "values"},
            ]
        },
    }
    push = Push(
        Provider.github,
        ("https://github.com/acme/values",),
        ("refs/heads/main",),
        "main",
        frozenset({"x.yaml"}),
    )
    assert matching([multi], push) == [("gitward", "m")]
    chart_only = Push(Provider.github, ("https://charts.example",), ("refs/heads/main",), "main", None)
    assert matching([multi], chart_only) == []
