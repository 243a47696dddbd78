"""Which Applications a push concerns: same repository, a tracked ref, and a path it touched.

- Repository: URLs are compared by host and path (scheme, user, port and
  `.git` aside, case-insensitively, as the hosts treat them), so an app
  that clones over SSH matches a payload's HTTPS URL.
- Ref: the app's targetRevision names the pushed branch or tag (`HEAD` or
  empty: the default branch, any branch when the payload does not say it; a
  full `refs/...` must be that ref; a version range matches a tag inside it).
  A SHA never matches: a pinned app has nothing to refresh.
- Paths: the source's path, or the `manifest-generate-paths` annotation
  (`;`-separated, relative to the path or absolute from the repository's
  root, `.` the path itself), must contain a changed file. When the payload
  lists no files, every app of the repository and ref is refreshed.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from gitward.model.repo_url import RepoURLError, match_key
from gitward.server.webhook_payloads import Push
from gitward.source import Constraint, ConstraintError, Version

GENERATE_PATHS = ("gitward.dev/manifest-generate-paths", "argocd.argoproj.io/manifest-generate-paths")
_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(.*)$")


@functools.lru_cache(maxsize=4096)  # called for every source of every app on every push
def repo_key(url: str) -> str:
    """Host and path of a repository URL, lower-case: one key for its HTTPS, SSH and git:// URLs."""
    try:
        text = match_key(url)  # the one normal form (gitward.model.repo_url); refused URLs match nothing
    except RepoURLError:
        return ""
    if "://" in text:
        parts = urlsplit(text)
        host, path = parts.hostname or "", parts.path
    else:
        scp = _SCP.match(text)
        host, path = scp.groups() if scp else ("", text)
    return f"{host}/{path.strip('/').removesuffix('.git')}"


def ref_matches(target: str, ref: str, default_branch: str | None) -> bool:
    target = target.strip()
    if ref.startswith("refs/heads/"):
        tag, name = False, ref.removeprefix("refs/heads/")
    elif ref.startswith("refs/tags/"):
        tag, name = True, ref.removeprefix("refs/tags/")
    else:
        return False
    if target in ("", "HEAD"):
        return not tag and (default_branch is None or name == default_branch)
    if target.startswith("refs/"):
        return target == ref
    if target == name:
        return True
    return tag and _in_range(target, name)


def _in_range(target: str, tag: str) -> bool:
    try:
        constraint = Constraint.parse(target)
    except ConstraintError:
        return False
    version = Version.parse(tag)
    return version is not None and constraint.matches(version)


def watched_paths(path: str, annotation: str | None) -> list[str]:
    """Folders (from the repository's root, "" = all of it) whose changes concern the source."""
    base = _clean(path)
    if annotation is None:
        return [base]
    found: list[str] = []
    for entry in (e.strip() for e in annotation.split(";")):
        if not entry:
            continue
        found.append(_clean(entry) if entry.startswith("/") else _clean(posixpath.join(base, entry)))
    return found


def _clean(path: str) -> str:
    normal = posixpath.normpath("/" + path.strip()).lstrip("/")
    return "" if normal in (".", "") else normal


def touches(paths: Iterable[str], files: frozenset[str] | None) -> bool:
    if files is None:
        return True
    for folder in paths:
        if not folder:
            return bool(files)
        prefix = folder + "/"
        if any(f == folder or f.startswith(prefix) for f in files):
            return True
    return False


def concerns(app: Mapping[str, Any], push: Push, keys: frozenset[str]) -> bool:
    """Whether the push should refresh `app`; `keys` are the push's repo_key values."""
    spec = app.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    annotation = next((str(annotations[a]) for a in GENERATE_PATHS if a in annotations), None)
    for source in sources:
        if not isinstance(source, Mapping) or source.get("chart"):
            continue
        url = source.get("repoURL")
        if not isinstance(url, str) or repo_key(url) not in keys:
            continue
        target = str(source.get("targetRevision") or "")
        if not any(ref_matches(target, ref, push.default_branch) for ref in push.refs):
            continue
        if touches(watched_paths(str(source.get("path") or ""), annotation), push.files):
            return True
    return False


def matching(apps: Iterable[Mapping[str, Any]], push: Push) -> list[tuple[str, str]]:
    """(namespace, name) of every app the push concerns."""
    # "" is repo_key's answer for a refused URL: it names no repository, so it matches nothing.
    keys = frozenset(key for key in (repo_key(u) for u in push.urls) if key)
    found: list[tuple[str, str]] = []
    for app in apps:
        if concerns(app, push, keys):
            metadata = app.get("metadata") or {}
            found.append((str(metadata.get("namespace") or ""), str(metadata.get("name") or "")))
    return found
