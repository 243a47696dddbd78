"""RespectIgnoreDifferences=true: what ignoreDifferences hides from the diff is also left alone by a sync.

Without the option (Argo CD's default) an ignored path only shapes the
comparison; a sync still applies the manifest whole, so replicas an
autoscaler owns are reset at every sync. With it, before an object is
applied, every path the rules ignore takes its live value (or is dropped
when the live object has none). As in Argo CD, the live values are carried
by a JSON merge patch: an ignored path inside a list item brings the live
list whole, since a merge patch cannot address one item.

An object that does not exist yet is applied as declared: there is no
live value to keep.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from gitward.engine.diff.ignore import IgnoreRule, apply_rules
from gitward.model.resource import ResourceKey
from gitward.model.sync import Plan, PlannedStep

Live = Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any] | None]]


async def keep_ignored(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule]
) -> Mapping[str, Any]:
    """`desired` with the paths `rules` ignore holding the live object's values."""
    key = ResourceKey.of(desired)
    if live is None or not any(rule.matches(key) for rule in rules):
        return desired
    managed = (live.get("metadata") or {}).get("managedFields") or ()
    stripped_live = await apply_rules(rules, live, managed) or {}
    stripped_desired = await apply_rules(rules, desired, managed) or {}
    kept: Mapping[str, Any] = merge_patch(stripped_desired, _patch_between(stripped_live, dict(live)))
    return kept


async def respect_plan(plan: Plan, live: Live, rules: Sequence[IgnoreRule]) -> Plan:
    """`plan` with each ordinary object that asks for it (app-wide or by annotation) keeping live values."""
    if not rules or not any(_asks(step) for step in plan.steps):
        return plan
    waves = []
    for wave in plan.waves:
        steps = []
        for step in wave.steps:
            if _asks(step):
                obj = await keep_ignored(step.obj, await live(step.obj), rules)
                step = dataclasses.replace(step, obj=obj)
            steps.append(step)
        waves.append(dataclasses.replace(wave, steps=tuple(steps)))
    return dataclasses.replace(plan, waves=tuple(waves))


def _asks(step: PlannedStep) -> bool:
    return not step.is_hook and step.options.respect_ignore_differences


def _patch_between(before: Any, after: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns `before` into `after`."""
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return copy.deepcopy(after)
    patch: dict[str, Any] = {}
    for name, value in after.items():
        if name not in before:
            patch[name] = copy.deepcopy(value)
        elif before[name] != value:
            if isinstance(before[name], Mapping) and isinstance(value, Mapping):
                patch[name] = _patch_between(before[name], value)
            else:
                patch[name] = copy.deepcopy(value)
    for name in before:
        if name not in after:
            patch[name] = None
    return patch


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: `target` with `patch` merged in (None deletes, lists and scalars replace)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = merge_patch(out.get(name), value)
    return out
