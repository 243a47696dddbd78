"""The AppProjects the controller enforces, read from the shared watch cache (never a GET per reconcile).

An app names its project in `spec.project` (default `default`); projects live
in the controller's namespace, in the same API group as the apps it serves
(argoproj.io ones for argoproj.io apps in compatibility mode).

- A missing `default` project allows everything, as the `default` project
  Argo CD generates at start-up does. gitward writes nothing for it: a user
  who wants it narrower creates an AppProject named `default`, and that one
  is enforced from the next reconcile on.
- A missing named project, or one that cannot be read, is an
  InvalidSpecError: nothing is applied.
- A change to a project enqueues every app that names it, so a narrowed (or
  widened) project takes effect at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller.queue import WorkQueue
from gitward.engine import project_policy as policy
from gitward.kube import WatchCache
from gitward.kube.discovery import UnknownKind
from gitward.kube.store import Change
from gitward.model.application import Application, AppResource
from gitward.model.fields import SpecError
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey
from gitward.model.status import ConditionType

log = structlog.get_logger(__name__)

KIND = "AppProject"


class ProjectRefused(Exception):
    """The app's project is missing, unreadable, or does not permit what the app asks for."""


@dataclass(frozen=True)
class Gate:
    """Whether a sync may run now, and for a blocked one the message to show."""

    allowed: bool
    message: str = ""


class Projects:
    def __init__(
        self,
        cache: WatchCache,
        resource: AppResource,
        namespace: str,
        queue: WorkQueue | None = None,
        clock: policy.Clock = policy.utc_now,
    ) -> None:
        self.cache = cache
        self.group = resource.group
        self.version = resource.version
        self.namespace = namespace
        # The controller's: project changes and window boundaries enqueue apps through it.
        self.queue = queue
        self.clock = clock
        self._parsed: dict[str, tuple[str, AppProject]] = {}

    # --- reading ---

    async def project(self, app: Application) -> AppProject:
        return await self.named(app.spec.project or policy.DEFAULT_PROJECT)

    async def named(self, name: str) -> AppProject:
        """The project called `name` (a deleting app's spec may not parse; its project still binds it)."""
        await self.cache.ensure(f"{self.group}/{self.version}", KIND)
        obj = self.cache.store.get(ResourceKey(self.group, KIND, self.namespace, name))
        if obj is None:
            if name == policy.DEFAULT_PROJECT:
                return policy.allow_all()
            raise ProjectRefused(f"application references project {name} which does not exist")
        version = str(obj.get("metadata", {}).get("resourceVersion", ""))
        cached = self._parsed.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            parsed = AppProject.from_dict(dict(obj))
        except (SpecError, ValueError) as problem:
            raise ProjectRefused(f"project {name} cannot be read: {problem}") from None
        self._parsed[name] = (version, parsed)
        return parsed

    # --- checks (each raises ProjectRefused with every problem found) ---

    async def check_spec(self, app: Application) -> AppProject:
        """The app's project, once its sources and destination are permitted."""
        project = await self.project(app)
        _refuse(policy.check_application(project, app))
        try:  # an unreadable window must not pass for an open one later: refuse it now
            policy.sync_verdict(project.spec.sync_windows, self.clock(), manual=False)
        except policy.ProjectError as problem:
            raise ProjectRefused(f"project {project.name}: {problem}") from None
        return project

    async def check_objects(
        self, project: AppProject, app: Application, objects: Sequence[Mapping[str, Any]]
    ) -> None:
        """Refuse the whole revision when one rendered object's kind or namespace is not permitted."""
        crd_scopes = {
            (str(o["spec"].get("group")), str((o["spec"].get("names") or {}).get("kind"))): o["spec"].get(
                "scope"
            )
            for o in objects
            if o.get("kind") == "CustomResourceDefinition" and isinstance(o.get("spec"), Mapping)
        }
        placed = []
        for obj in objects:
            key = ResourceKey.of(obj)
            try:
                namespaced = (
                    await self.cache.discovery.resolve(str(obj.get("apiVersion")), key.kind)
                ).namespaced
            except UnknownKind:
                scope = crd_scopes.get((key.group, key.kind))
                # A kind nobody defines yet: its own namespace is the best evidence of its scope.
                namespaced = scope == "Namespaced" if scope else bool(key.namespace)
            placed.append((key, namespaced))
        _refuse(policy.check_objects(project, app, placed))

    def gate(self, project: AppProject, app: Application, *, manual: bool) -> Gate:
        """The sync windows' verdict now; a blocked app is looked at again when a window changes."""
        try:
            verdict = policy.sync_verdict(policy.matching_windows(project, app), self.clock(), manual=manual)
        except policy.ProjectError as problem:
            raise ProjectRefused(f"project {project.name}: {problem}") from None
        if not verdict.allowed and verdict.next_change is not None and self.queue is not None:
            wait = (verdict.next_change - self.clock()).total_seconds()
            # A second late, so the boundary has passed when the app is looked at again.
            self.queue.add_after(app.name, max(0.0, wait) + 1.0)
        return Gate(verdict.allowed, verdict.message)

    # --- triggers ---

    def on_change(self, change: Change) -> None:
        """A project changed: every app naming it is compared again under the new rules."""
        key = change.key
        if (key.group, key.kind) != (self.group, KIND) or key.namespace != self.namespace:
            return
        self._parsed.pop(key.name, None)
        if self.queue is None:
            return
        for app in self._apps_of(key.name):
            self.queue.add(app)

    def _apps_of(self, project: str) -> list[str]:
        store = self.cache.store
        names = []
        for app_key in store.keys(self.group, "Application"):
            if app_key.namespace != self.namespace:
                continue
            obj = store.get(app_key)
            spec = obj.get("spec") if obj is not None else None
            named = spec.get("project") if isinstance(spec, Mapping) else None
            if (named or policy.DEFAULT_PROJECT) == project:
                names.append(app_key.name)
        return names


def window_condition(previous: Mapping[str, Any], message: str, now: str) -> dict[str, Any]:
    """The condition saying automated sync waits for a window; its time stays put while it holds."""
    for condition in previous.get("conditions") or []:
        if condition.get("type") == ConditionType.sync_window_blocked and condition.get("message") == message:
            return dict(condition)
    return {"type": str(ConditionType.sync_window_blocked), "message": message, "lastTransitionTime": now}


def _refuse(problems: Sequence[str]) -> None:
    if problems:
        raise ProjectRefused("\n".join(problems))


def is_manual(operation: Mapping[str, Any]) -> bool:
    """A requested operation is a person's unless its initiator says it was automated; none is not."""
    initiated = operation.get("initiatedBy")
    return bool(operation) and not (isinstance(initiated, Mapping) and initiated.get("automated"))
