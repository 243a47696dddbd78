"""Custom health rules the controller applies: from the ConfigMap `gitward-cm` and from each app's project.

- `gitward-cm` in the controller's namespace holds one rule per key
  `resource.customizations.health.<group>_<kind>` (Argo CD's key; a core
  kind is just `<kind>`), whose value is YAML with `healthy`, `progressing`
  and `degraded` CEL expressions and an optional `message` expression.
- An AppProject's `spec.healthRules[]` (`{group, kind, healthy, progressing,
  degraded, message}`) applies to that project's apps and wins over the
  ConfigMap's rule for the same kind: the narrower scope decides.

Both are read from the shared watch cache, never with a GET per reconcile,
and compiled once per resourceVersion; a change of the ConfigMap enqueues
every app (a project's change already enqueues its apps). A rule that does not load is logged
with its key and left out, so that kind keeps its built-in health (or none);
the other rules still apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
import yaml

from gitward.controller.queue import WorkQueue
from gitward.engine.health.assess import HealthRule, HealthRuleError, HealthRules
from gitward.kube import WatchCache
from gitward.kube.store import Change
from gitward.model.application import GROUP
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey

log = structlog.get_logger(__name__)

CONFIG_MAP = "gitward-cm"
PREFIX = "resource.customizations.health."
_EXPRESSIONS = ("healthy", "progressing", "degraded", "message")


def from_config_map(data: Mapping[str, Any]) -> tuple[dict[tuple[str, str], HealthRule], list[str]]:
    """The rules a ConfigMap's `data` declares, and one problem per key that could not be used."""
    rules: dict[tuple[str, str], HealthRule] = {}
    problems: list[str] = []
    for name, text in sorted(data.items()):
        if not name.startswith(PREFIX):
            continue
        group, _, kind = name[len(PREFIX) :].rpartition("_")
        where = f"{CONFIG_MAP} {name}"
        try:
            if not kind:
                raise HealthRuleError("expected resource.customizations.health.<group>_<kind>")
            try:
                body = yaml.safe_load(str(text))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                at = f" at line {mark.line + 1}" if mark is not None else ""
                raise HealthRuleError(f"not valid YAML{at}") from None
            rules[(group, kind)] = _compile(group, kind, body)
        except HealthRuleError as exc:
            problems.append(f"{where}: {exc}")
    return rules, problems


def from_project(project: AppProject) -> tuple[dict[tuple[str, str], HealthRule], list[str]]:
    rules: dict[tuple[str, str], HealthRule] = {}
    problems: list[str] = []
    for index, spec in enumerate(project.spec.health_rules):
        body = {name: getattr(spec, name) for name in _EXPRESSIONS if getattr(spec, name)}
        try:
            rules[(spec.group, spec.kind)] = _compile(spec.group, spec.kind, body)
        except HealthRuleError as exc:
            problems.append(f"project {project.name} healthRules[{index}]: {exc}")
    return rules, problems


def _compile(group: str, kind: str, body: object) -> HealthRule:
    if not isinstance(body, Mapping):
        raise HealthRuleError("expected a mapping with healthy, progressing, degraded and message")
    unknown = sorted(set(map(str, body)) - set(_EXPRESSIONS))
    if unknown:
        raise HealthRuleError(f"unknown keys {', '.join(unknown)}")
    expressions = {str(k): v for k, v in body.items()}
    if not all(isinstance(v, str) and v.strip() for v in expressions.values()):
        raise HealthRuleError("each expression must be a non-empty CEL string")
    return HealthRule.compile(group, kind, expressions)


class HealthRuleSource:
    """The rules for one app: its project's over the ConfigMap's; cached until either changes."""

    def __init__(
        self,
        cache: WatchCache,
        namespace: str,
        app_group: str = GROUP,
        queue: WorkQueue | None = None,
    ) -> None:
        self.cache = cache
        self.namespace = namespace
        self.app_group = app_group
        # The controller's: a change of gitward-cm re-judges every app at once, not at its next poll.
        self.queue = queue
        self._config: tuple[str, dict[tuple[str, str], HealthRule]] = ("", {})
        self._projects: dict[str, tuple[str, dict[tuple[str, str], HealthRule]]] = {}
        self._merged: dict[tuple[str, str, str], HealthRules] = {}

    def on_change(self, change: Change) -> None:
        key = change.key
        if (key.group, key.kind, key.namespace, key.name) != ("", "ConfigMap", self.namespace, CONFIG_MAP):
            return
        if self.queue is not None:
            for app in self.cache.store.keys(self.app_group, "Application"):
                if app.namespace == self.namespace:
                    self.queue.add(app.name)

    async def rules_for(self, project: AppProject) -> HealthRules:
        await self.cache.ensure("v1", "ConfigMap")
        config_version, config = self._config_rules()
        project_version = str(project.metadata.get("resourceVersion", ""))
        merged_key = (config_version, project.name, project_version)
        found = self._merged.get(merged_key)
        if found is not None:
            return found
        own = self._project_rules(project, project_version)
        found = HealthRules({**config, **own})
        # Only the newest combination per project is worth keeping.
        self._merged = {k: v for k, v in self._merged.items() if k[1] != project.name}
        self._merged[merged_key] = found
        return found

    def _config_rules(self) -> tuple[str, dict[tuple[str, str], HealthRule]]:
        obj = self.cache.store.get(ResourceKey("", "ConfigMap", self.namespace, CONFIG_MAP))
        version = str((obj or {}).get("metadata", {}).get("resourceVersion", "")) if obj else ""
        if version != self._config[0]:
            data = (obj or {}).get("data") or {}
            rules, problems = from_config_map(data if isinstance(data, Mapping) else {})
            for problem in problems:
                log.warning("health rule ignored", problem=problem)
            self._config = (version, rules)
        return self._config

    def _project_rules(self, project: AppProject, version: str) -> dict[tuple[str, str], HealthRule]:
        cached = self._projects.get(project.name)
        if cached is not None and cached[0] == version and version:
            return cached[1]
        rules, problems = from_project(project)
        for problem in problems:
            log.warning("health rule ignored", problem=problem)
        self._projects[project.name] = (version, rules)
        return rules
