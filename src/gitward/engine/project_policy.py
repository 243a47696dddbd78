"""What an AppProject permits, as pure functions: repositories, destinations, kinds, and when to sync.

The rules are Argo CD's, so a project written for it means the same here:

- `sourceRepos` and `destinations` are globs. An entry starting with `!`
  denies what it matches, and a deny wins over any allow; with no allow
  entry matching, the answer is no. In `sourceRepos`, `*` stays inside one
  path segment (`https://git.example/team/*` is not every nested group);
  `**` crosses segments. Elsewhere `*` matches anything.
- A destination matches an entry by server OR cluster name, AND namespace.
- Kinds: a namespaced kind is allowed unless the namespace blacklist names
  it, and, when a namespace whitelist is given, only if it names it. A
  cluster-scoped kind is allowed only if the cluster whitelist names it and
  the cluster blacklist does not: an empty cluster whitelist means none.
  Group and kind are globs; group "" is the core group.
- Sync windows select apps by name, namespace or cluster (any selector
  matching is enough). An active deny window blocks syncs; otherwise, when
  allow windows select the app, syncs run only while one is open. A manual
  sync gets through only if every window that blocks it has `manualSync`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

from gitward.model.application import IN_CLUSTER, Application
from gitward.model.glob import GlobError, compile_glob
from gitward.model.project import (
    AppProject,
    AppProjectSpec,
    GroupKind,
    ProjectDestination,
    SyncWindow,
    WindowKind,
)
from gitward.model.repo_url import RepoURLError, match_key, pattern_key
from gitward.model.resource import ResourceKey

DEFAULT_PROJECT = "default"
IN_CLUSTER_NAME = "in-cluster"

# The Go cron parser's descriptors, which cronsim does not read.
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class ProjectError(ValueError):
    """A project that cannot be evaluated (a schedule or time zone nobody can read)."""


def allow_all(name: str = DEFAULT_PROJECT) -> AppProject:
    """What Argo CD's generated `default` project allows: any repository, destination and kind."""
    return AppProject(
        metadata={"name": name},
        spec=AppProjectSpec(
            source_repos=("*",),
            destinations=(ProjectDestination(server="*", name="*", namespace="*"),),
            cluster_resource_whitelist=(GroupKind(group="*", kind="*"),),
        ),
    )


# --- globs -------------------------------------------------------------------------------------


def glob_match(pattern: str, value: str, separator: str = "") -> bool:
    """`*`, `?`, `[...]`, `{a,b}`; with a separator, `*` and `?` stop at it and `**` does not.

    gitward.model.glob matches without backtracking. A pattern it refuses (`[z-a]`, an unclosed
    brace) matches only its own literal text, as an unbalanced brace always did.
    """
    if pattern == "*":
        return True
    try:
        return compile_glob(pattern, separator=separator).match(value)
    except GlobError:
        return pattern == value


def _entry(pattern: str, value: str, separator: str = "") -> tuple[bool, bool]:
    """(is a deny entry, matches): a deny entry "matches" what its pattern does NOT match."""
    if pattern.startswith("!"):
        return True, not glob_match(pattern[1:], value, separator)
    return False, glob_match(pattern, value, separator)


# --- sources and destinations ------------------------------------------------------------------


def source_permitted(project: AppProject, repo_url: str) -> bool:
    """Whether `sourceRepos` allows the URL; one that gitward.model.repo_url refuses never is.

    Both sides are compared in their normal form (match_key / pattern_key), so
    `https://host/team-a/../team-b/x` can never be read as a team-a repository.
    """
    try:
        wanted = match_key(repo_url)
    except RepoURLError:
        return False
    allowed = False
    for pattern in project.spec.source_repos:
        normal = "!" + pattern_key(pattern[1:]) if pattern.startswith("!") else pattern_key(pattern)
        deny, matched = _entry(normal, wanted, "/")
        if deny and not matched:
            return False
        allowed = allowed or matched
    return allowed


def destination_permitted(project: AppProject, server: str, name: str, namespace: str) -> bool:
    """Argo CD's rule; the in-cluster destination is known by both its server and its name."""
    if server == IN_CLUSTER and not name:
        name = IN_CLUSTER_NAME
    elif name == IN_CLUSTER_NAME and not server:
        server = IN_CLUSTER
    allowed = False
    for item in project.spec.destinations:
        deny_name, name_ok = _entry(item.name, name)
        deny_server, server_ok = _entry(item.server, server)
        deny_ns, ns_ok = _entry(item.namespace, namespace)
        name_ok = name_ok and bool(name)
        server_ok = server_ok and bool(server)
        if (name_ok or server_ok) and ns_ok:
            allowed = True
        elif (deny_name and not name_ok) or (deny_server and not server_ok) or (deny_ns and not ns_ok):
            return False
    return allowed


def check_application(project: AppProject, app: Application) -> list[str]:
    """What in the app's own spec its project does not permit (its sources and its destination)."""
    problems = [
        f"application repo {source.repo_url} is not permitted in project '{project.name}'"
        for source in app.spec.all_sources
        if not source_permitted(project, source.repo_url)
    ]
    dest = app.spec.destination
    if not destination_permitted(project, dest.server, dest.name, dest.namespace):
        where = f"{{{dest.server or dest.name} {dest.namespace}}}"
        problems.append(f"application destination {where} is not permitted in project '{project.name}'")
    return problems


# --- kinds -------------------------------------------------------------------------------------


def _listed(group: str, kind: str, entries: Sequence[GroupKind]) -> GroupKind | None:
    for entry in entries:
        if glob_match(entry.kind, kind, "/") and glob_match(entry.group, group, "/"):
            return entry
    return None


def _rule(entry: GroupKind, field: str) -> str:
    group = entry.group or '""'
    return f"{field} entry {{group: {group}, kind: {entry.kind}}}"


def kind_refusal(project: AppProject, group: str, kind: str, namespaced: bool) -> str | None:
    """Why the project refuses this kind (naming the rule), or None when it is permitted."""
    spec = project.spec
    if namespaced:
        if spec.namespace_resource_whitelist and not _listed(group, kind, spec.namespace_resource_whitelist):
            return "not in namespaceResourceWhitelist"
        denied = _listed(group, kind, spec.namespace_resource_blacklist)
        return f"matched by {_rule(denied, 'namespaceResourceBlacklist')}" if denied else None
    if not _listed(group, kind, spec.cluster_resource_whitelist):
        if not spec.cluster_resource_whitelist:
            return "cluster-scoped, and clusterResourceWhitelist is empty"
        return "cluster-scoped and not in clusterResourceWhitelist"
    denied = _listed(group, kind, spec.cluster_resource_blacklist)
    return f"matched by {_rule(denied, 'clusterResourceBlacklist')}" if denied else None


def check_objects(
    project: AppProject, app: Application, objects: Iterable[tuple[ResourceKey, bool]]
) -> list[str]:
    """Each rendered object (its key, and whether its kind is namespaced) the project refuses, and why."""
    dest = app.spec.destination
    problems: list[str] = []
    for key, namespaced in objects:
        kind = f"{key.group}/{key.kind}" if key.group else key.kind
        why = object_refusal(project, dest.server, dest.name, key, namespaced)
        if why is not None:
            problems.append(f"{key}: {kind} is not permitted in project '{project.name}' ({why})")
    return problems


def object_refusal(
    project: AppProject, server: str, name: str, key: ResourceKey, namespaced: bool
) -> str | None:
    """Why the project refuses this object on the destination cluster (server/name), or None.

    One rule for both directions: what an app may apply (check_objects) and
    which live objects it may delete (gitward.engine.sync.prune.Scope).
    """
    why = kind_refusal(project, key.group, key.kind, namespaced)
    outside = namespaced and key.namespace and not destination_permitted(project, server, name, key.namespace)
    if why is None and outside:
        why = "its namespace is not a destination of the project"
    return why


# --- sync windows ------------------------------------------------------------------------------


def matching_windows(project: AppProject, app: Application) -> list[SyncWindow]:
    dest = app.spec.destination
    server = dest.server or (IN_CLUSTER if dest.name == IN_CLUSTER_NAME else "")
    name = dest.name or (IN_CLUSTER_NAME if dest.server == IN_CLUSTER else "")

    def selects(window: SyncWindow) -> bool:
        return (
            any(glob_match(p, app.name) for p in window.applications)
            or any(glob_match(p, dest.namespace) for p in window.namespaces)
            or any(
                (name and glob_match(p, name)) or (server and glob_match(p, server)) for p in window.clusters
            )
        )

    return [w for w in project.spec.sync_windows if selects(w)]


def _schedule(window: SyncWindow) -> tuple[str, dt.tzinfo]:
    expression = _DESCRIPTORS.get(window.schedule.strip(), window.schedule)
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(window.time_zone) if window.time_zone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ProjectError(
            f"sync window {window.schedule!r}: unknown timeZone {window.time_zone!r}"
        ) from None
    return expression, zone


def _next_start(window: SyncWindow, after: dt.datetime) -> dt.datetime:
    """The first start of the window strictly after `after` (an aware time), in UTC."""
    expression, zone = _schedule(window)
    try:
        return next(CronSim(expression, after.astimezone(zone))).astimezone(dt.UTC)
    except (CronSimError, StopIteration) as problem:
        raise ProjectError(f"sync window schedule {window.schedule!r}: {problem}") from None


def window_open(window: SyncWindow, now: dt.datetime) -> bool:
    """Open on [start, start + duration) of some start of its schedule."""
    length = dt.timedelta(seconds=window.duration.seconds)
    return _next_start(window, now - length) <= now


def _next_change(window: SyncWindow, now: dt.datetime) -> dt.datetime:
    length = dt.timedelta(seconds=window.duration.seconds)
    if window_open(window, now):
        return _next_start(window, now - length) + length
    return _next_start(window, now)


@dataclass(frozen=True)
class WindowVerdict:
    allowed: bool
    message: str = ""
    # When some window selecting the app opens or closes next: the verdict may change then.
    next_change: dt.datetime | None = None


def sync_verdict(windows: Sequence[SyncWindow], now: dt.datetime, *, manual: bool) -> WindowVerdict:
    """May a sync run now? `windows` are those selecting the app (see `matching_windows`)."""
    if not windows:
        return WindowVerdict(True)
    now = now.astimezone(dt.UTC)
    upcoming = min(_next_change(w, now) for w in windows)
    open_ = [w for w in windows if window_open(w, now)]
    denying = [w for w in open_ if w.kind is WindowKind.deny]
    blocking: list[SyncWindow] = denying
    if not denying and not any(w.kind is WindowKind.allow for w in open_):
        blocking = [w for w in windows if w.kind is WindowKind.allow]
    if not blocking:
        return WindowVerdict(True, next_change=upcoming)
    if manual and all(w.manual_sync for w in blocking):
        return WindowVerdict(True, "manual sync let through by the sync windows", upcoming)
    what = ", ".join(_describe(w) for w in blocking)
    reason = "a deny window is open" if denying else "no allow window is open"
    return WindowVerdict(False, f"sync blocked by sync window ({reason}: {what})", upcoming)


def _describe(window: SyncWindow) -> str:
    zone = f" {window.time_zone}" if window.time_zone else ""
    return f"{window.kind} '{window.schedule}'{zone} for {window.duration}"


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
