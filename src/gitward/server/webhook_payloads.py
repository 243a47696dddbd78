"""Git host push webhooks, read into one shape: which provider, repository, refs and files.

Each provider names the event in its own header (Gitea also sends GitHub's
and Gogs' headers for compatibility, so it is recognised first) and lays the
payload out its own way. Only pushes matter; every other event is answered
as ignored once its sender is authenticated.
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
    bitbucket = "bitbucket"


# The header naming the event, per provider, in the order they are tried.
EVENT_HEADERS = (
    (Provider.gitea, "x-gitea-event"),
    (Provider.gitlab, "x-gitlab-event"),
    (Provider.bitbucket, "x-event-key"),
    (Provider.github, "x-github-event"),
)

# GitHub puts at most this many commits in a push payload; a longer push lists only some files.
GITHUB_COMMIT_LIMIT = 20
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
            return provider, value.strip()
    return None


def is_push(provider: Provider, event: str) -> bool:
    if provider is Provider.gitlab:
        return event in ("Push Hook", "Tag Push Hook")
    if provider is Provider.bitbucket:
        return event == "repo:push"
    return event == "push"


def parse(provider: Provider, body: bytes) -> Push:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise PayloadError(f"the {provider} payload is not JSON (send application/json): {problem}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"the {provider} payload is not a JSON object")
    parser = {
        Provider.github: _github,
        Provider.gitea: _gitea,
        Provider.gitlab: _gitlab,
        Provider.bitbucket: _bitbucket,
    }[provider]
    push = parser(payload)
    if not push.urls:
        raise PayloadError(f"the {provider} payload names no repository URL")
    return push


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
            found.update(_strings(_mapping(commit).get(key) or ()))
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


def _gitea(payload: Mapping[str, Any]) -> Push:
    repository = _mapping(payload.get("repository"))
    commits = payload.get("commits")
    total = payload.get("total_commits")
    complete = isinstance(commits, list) and (not isinstance(total, int) or total <= len(commits))
    return Push(
        Provider.gitea,
        _strings(repository.get(k) for k in ("clone_url", "ssh_url", "html_url")),
        _ref(payload),
        _default(repository.get("default_branch")),
        _files(commits, complete),
        _sha(payload.get("after")),
    )


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
    for change in _mapping(payload.get("push")).get("changes") or []:
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


def _sha(value: Any) -> str | None:
    """A full commit id; None for anything else, a deleted ref's zeros included."""
    if isinstance(value, str) and _SHA.match(value) and value.strip("0"):
        return value.lower()
    return None


def _default(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
