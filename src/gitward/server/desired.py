"""What an app declares (its rendered manifests) and how the cluster differs from it, for the API.

Rendering and comparing are the controller's own code paths (the engine's
DesiredState, the shared Comparer with its dry-run cache), run in the
server's process against the spec's target revision, so what the API
shows is what the next reconcile would see. Secret values never leave:
manifests are masked with `gitward.engine.diff.normalize.mask_secrets`, diffs are
masked by the comparer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.controller.projects import ProjectRefused, Projects
from gitward.engine.desired import DesiredState, Revisioned
from gitward.engine.diff.compare import Comparer, Comparison, WatchedLive
from gitward.engine.diff.ignore import IgnoreRuleError, load_rules
from gitward.engine.diff.normalize import mask_secrets, unified
from gitward.engine.sync.prune import Scope, partition
from gitward.engine.tracking import tracking_app
from gitward.kube import WatchCache, Writer
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.resource import ResourceKey
from gitward.model.status import SyncStatusCode
from gitward.render import ValidationFailed
from gitward.render.tools import RenderError
from gitward.source import SourceError


class DesiredError(Exception):
    """The app's revision cannot be rendered (or its spec read); the message says why, file:line:col."""


class DesiredView:
    """Renders and compares on behalf of API requests; one per server."""

    def __init__(self, desired: DesiredState, writer: Writer, cache: WatchCache, projects: Projects) -> None:
        self.desired = desired
        self.cache = cache
        self.projects = projects
        # The controller's comparer gives verdicts only; a person asking for the diff wants its text.
        self.comparer = Comparer(writer, WatchedLive(cache, writer.written), dry_run_creates=False)

    async def render(self, obj: Mapping[str, Any]) -> Revisioned:
        try:
            app = Application.from_dict(obj)
            # The controller's own render: same credentials, resolution, renderers and namespace defaulting.
            rendered = await self.desired.render(app)
        except (SpecError, ValueError) as problem:
            raise DesiredError(f"invalid spec: {problem}") from None
        except ValidationFailed as failure:
            raise DesiredError("\n".join(str(p) for p in failure.problems)) from None
        except (SourceError, RenderError) as problem:
            raise DesiredError(str(problem)) from None
        return rendered

    async def manifests(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        desired = await self.render(obj)
        return {
            "revision": desired.revision,
            "manifests": [mask_secrets(o, None)[0] for o in desired.objects],
        }

    async def diff(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Per desired object its verdict and masked diff; then objects a sync with prune would delete."""
        desired = await self.render(obj)
        metadata = obj.get("metadata") or {}
        owner = tracking_app(str(metadata.get("namespace", "")), str(metadata.get("name", "")))
        try:
            entries = (obj.get("spec") or {}).get("ignoreDifferences") or []
            rules = load_rules(entries, "spec.ignoreDifferences")
        except IgnoreRuleError as problem:
            raise DesiredError(f"invalid spec: {problem}") from None
        kinds = {(str(o.get("apiVersion")), str(o.get("kind"))) for o in desired.objects}
        # Kinds the app deployed before and no longer declares: their objects are prune candidates.
        for resource in (obj.get("status") or {}).get("resources") or []:
            group, version = str(resource.get("group") or ""), str(resource.get("version") or "")
            if version:
                kinds.add((f"{group}/{version}" if group else version, str(resource.get("kind"))))
        await self.cache.ensure_all(kinds)
        comparisons = await self.comparer.compare_all(desired.objects, rules, app=owner)
        wanted = {c.key for c in comparisons}
        try:
            app = Application.from_dict(obj)
            project = await self.projects.project(app)
        except (ProjectRefused, SpecError, ValueError) as problem:
            raise DesiredError(str(problem)) from None
        # As the controller's prune: an object outside the project is not the app's, whatever its id.
        candidates = (o for o in self.cache.store.tracked_by(owner) if ResourceKey.of(o) not in wanted)
        extra, _ = partition(owner, candidates, Scope.of(project, app))
        return {
            "revision": desired.revision,
            "resources": [_entry(c) for c in comparisons] + [_prune_entry(o) for o in extra],
        }


def _entry(comparison: Comparison) -> dict[str, Any]:
    out = comparison.as_dict()
    out["requiresPruning"] = False
    return out


def _prune_entry(live: Mapping[str, Any]) -> dict[str, Any]:
    key = ResourceKey.of(live)
    return {
        **key.as_dict(),
        "status": str(SyncStatusCode.out_of_sync),
        "wouldCreate": False,
        "requiresPruning": True,
        "diff": unified(None, live, str(key)),
        "error": None,
    }
