"""Git host push webhooks, read into one shape: which provider, repository, refs and files.

Each provider names the event in its own header (Gitea also sends GitHub's
and Gogs' headers for compatibility, so it is recognised first) and lays the
payload out its own way. Bitbucket Cloud and Bitbucket Server (Data Center)
share `X-Event-Key`: Cloud always sends `X-Hook-UUID` too, and `repo:push`
is Cloud's push, so the rest is Server's. Only pushes matter; every other
event is answered as ignored once its sender is authenticated.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class Provider(enum.StrEnum):
    github = "github"
    gitlab = "gitlab"
    gitea = "gitea"
    gogs = "gogs"
    bitbucket = "bitbucket"  # Bitbucket Cloud
    bitbucketserver = "bitbucketserver"  # Bitbucket Server and Data Center


# The header naming the event, per provider, in the order they are tried
# (x-event-key is then told apart between Bitbucket Cloud and Server).
EVENT_HEADERS = (
    (Provider.gitea, "x-gitea-event"),
    (Provider.gogs, "x-gogs-event"),
    (Provider.gitlab, "x-gitlab-event"),
    (Provider.bitbucket, "x-event-key"),
    (Provider.github, "x-github-event"),
)

# GitHub puts at most this many commits in a push payload; a longer push lists only some files.
GITHUB_COMMIT_LIMIT = 20
# Gogs cuts the list at its FEED_MAX_COMMIT_NUM (5 unless configured) and, unlike Gitea,
# sends no total: a payload holding that many may have lost commits, hence files.
GOGS_COMMIT_LIMIT = 5
_SHA = re.compile(r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$")


class PayloadError(ValueError):
    """A push payload that cannot be read (answered 400)."""


@dataclass(frozen=True)
class Push:
    provider: Provider
    urls: tuple[str, ...]  # every URL the payload gives for the repository
    refs: tuple[str, ...]  # full refs updated: refs/heads/x, refs/tags/y
    default_branch: str | None  # None when the payload does not say
    files: frozenset[str] | None  # changed paths from the repository's root; None: unknown
    sha: str | None = None  # the commit the (single) ref now points at, when the payload says


def detect(headers: Mapping[str, str]) -> tuple[Provider, str] | None:
    """The provider and event name a request's headers announce, or None."""
    for provider, header in EVENT_HEADERS:
        value = headers.get(header)
        if value is not None:
            event = value.strip()
            if provider is Provider.bitbucket and event != "repo:push" and "x-hook-uuid" not in headers:
                return Provider.bitbucketserver, event
            return provider, event
    return None


def is_push(provider: Provider, event: str) -> bool:
    if provider is Provider.gitlab:
        return event in ("Push Hook", "Tag Push Hook")
    if provider is Provider.bitbucket:
        return event == "repo:push"
    if provider is Provider.bitbucketserver:
        return event == "repo:refs_changed"
    return event == "push"


def is_ping(provider: Provider, event: str) -> bool:
    """Bitbucket Server's "Test connection": answered 200, nothing else done."""
    return provider is Provider.bitbucketserver and event == "diagnostics:ping"


def parse(provider: Provider, body: bytes) -> Push:
    try:
        payload = json.loads(body)
    except RecursionError:
        raise PayloadError(f"the {provider} payload nests too deeply to be a push") from None
    except ValueError as problem:  # not JSON, not UTF-8, or a number past int's digit limit
        raise PayloadError(f"the {provider} payload is not JSON (send application/json): {problem}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"the {provider} payload is not a JSON object")
    parser = {
        Provider.github: _github,
        Provider.gitea: _gitea,
        Provider.gogs: _gogs,
        Provider.gitlab: _gitlab,
        Provider.bitbucket: _bitbucket,
        Provider.bitbucketserver: _bitbucket_server,
    }[provider]
    push = parser(payload)
    if not push.urls:
        raise PayloadError(f"the {provider} payload names no repository URL")
    return push


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """A JSON array, or [] for anything else a sender put in its place."""
    return value if isinstance(value, list) else []


def _ref(payload: Mapping[str, Any]) -> tuple[str, ...]:
    ref = payload.get("ref")
    if not isinstance(ref, str) or not ref:
        raise PayloadError("the push payload has no `ref`")
    return (ref,)


def _files(commits: Any, complete: bool) -> frozenset[str] | None:
    """Every path a list of commits added, modified or removed; None when it cannot be complete."""
    if not complete or not isinstance(commits, list) or not commits:
        return None
    found: set[str] = set()
    for commit in commits:
        for key in ("added", "modified", "removed"):
            found.update(_strings(_list(_mapping(commit).get(key))))
    return frozenset(found)


def _github(payload: Mapping[str, Any]) -> Push:
    repository = _mapping(payload.get("repository"))
    commits = payload.get("commits")
    # A payload at the limit may have dropped commits, hence files: refresh as if none were listed.
    complete = isinstance(commits, list) and len(commits) < GITHUB_COMMIT_LIMIT
    return Push(
        Provider.github,
        _strings(repository.get(k) for k in ("clone_url", "ssh_url", "html_url", "git_url", "url")),
        _ref(payload),
        _default(repository.get("default_branch") or repository.get("master_branch")),
        _files(commits, complete),
        _sha(payload.get("after")),
    )


def _gitea(payload: Mapping[str, Any], provider: Provider = Provider.gitea) -> Push:
    repository = _mapping(payload.get("repository"))
    commits = payload.get("commits")
    total = payload.get("total_commits")
    if not isinstance(commits, list):
        complete = False
    elif isinstance(total, int):
        complete = total <= len(commits)
    else:
        complete = provider is not Provider.gogs or len(commits) < GOGS_COMMIT_LIMIT
    return Push(
        provider,
        _strings(repository.get(k) for k in ("clone_url", "ssh_url", "html_url")),
        _ref(payload),
        _default(repository.get("default_branch")),
        _files(commits, complete),
        _sha(payload.get("after")),
    )


def _gogs(payload: Mapping[str, Any]) -> Push:
    """Gogs: Gitea's layout (Gitea began as its fork), with a shorter commit list."""
    return _gitea(payload, Provider.gogs)


def _gitlab(payload: Mapping[str, Any]) -> Push:
    project = _mapping(payload.get("project"))
    repository = _mapping(payload.get("repository"))
    commits = payload.get("commits")
    total = payload.get("total_commits_count")
    complete = isinstance(commits, list) and (not isinstance(total, int) or total <= len(commits))
    return Push(
        Provider.gitlab,
        _strings(
            [
                *(project.get(k) for k in ("git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url")),
                *(repository.get(k) for k in ("git_http_url", "git_ssh_url", "homepage", "url")),
            ]
        ),
        _ref(payload),
        _default(project.get("default_branch")),
        _files(commits, complete),
        _sha(payload.get("after") or payload.get("checkout_sha")),
    )


def _bitbucket(payload: Mapping[str, Any]) -> Push:
    """Bitbucket Cloud: refs from push.changes[].new; its payload lists no files."""
    repository = _mapping(payload.get("repository"))
    links = _mapping(repository.get("links"))
    html = _mapping(links.get("html")).get("href")
    urls = [html]
    full_name = repository.get("full_name")
    if isinstance(html, str) and isinstance(full_name, str) and "://" in html:
        host = html.split("://", 1)[1].split("/", 1)[0]
        urls.append(f"git@{host}:{full_name}.git")
    refs: list[str] = []
    hashes: list[Any] = []
    for change in _list(_mapping(payload.get("push")).get("changes")):
        new = _mapping(_mapping(change).get("new"))  # null when the ref was deleted
        name = new.get("name")
        if isinstance(name, str) and name:
            refs.append(f"refs/tags/{name}" if new.get("type") == "tag" else f"refs/heads/{name}")
            hashes.append(_mapping(new.get("target")).get("hash"))
    if not refs:
        raise PayloadError("the bitbucket payload updates no branch or tag (push.changes[].new)")
    mainbranch = _mapping(repository.get("mainbranch")).get("name")
    sha = _sha(hashes[0]) if len(hashes) == 1 else None
    return Push(Provider.bitbucket, _strings(urls), tuple(refs), _default(mainbranch), None, sha)


def _bitbucket_server(payload: Mapping[str, Any]) -> Push:
    """Bitbucket Server: clone URLs from repository.links.clone[], refs from changes[].

    Its payload names neither changed files nor the default branch. A push
    that only deletes refs is a push all the same: it refreshes nothing
    (refused, Bitbucket Server would count the delivery as failed, and a few
    such failures in a row make it stop calling).
    """
    links = _mapping(_mapping(payload.get("repository")).get("links"))
    clones = links.get("clone")
    urls = _strings(_mapping(c).get("href") for c in clones) if isinstance(clones, list) else ()
    changes = payload.get("changes")
    if not isinstance(changes, list):
        raise PayloadError("the bitbucketserver payload has no `changes`")
    refs: list[str] = []
    hashes: list[Any] = []
    for change in (_mapping(c) for c in changes):
        ref = _mapping(change.get("ref")).get("id") or change.get("refId")
        if change.get("type") == "DELETE" or not isinstance(ref, str) or not ref.startswith("refs/"):
            continue
        refs.append(ref)
        hashes.append(change.get("toHash"))
    sha = _sha(hashes[0]) if len(hashes) == 1 else None
    return Push(Provider.bitbucketserver, urls, tuple(dict.fromkeys(refs)), None, None, sha)


def _sha(value: Any) -> str | None:
    """A full commit id; None for anything else, a deleted ref's zeros included."""
    if isinstance(value, str) and _SHA.match(value) and value.strip("0"):
        return value.lower()
    return None


def _default(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
