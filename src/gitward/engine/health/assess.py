"""Health of one object (`assess`) and of an app's objects (`aggregate`).

Pure functions of the objects they are given: no I/O, so the controller, the
sync engine and `gitward health` judge the same object the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward.engine.health.kinds import BUILTIN
from gitward.engine.health.rules import HealthRule, HealthRuleError, HealthRules
from gitward.engine.hooks import looks_like_hook
from gitward.model.health import Health, HealthStatus, worst

__all__ = ["Health", "HealthRule", "HealthRuleError", "HealthRules", "HealthStatus", "aggregate", "assess"]


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return group, kind if isinstance(kind, str) else ""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def assess(obj: Mapping[str, Any], rules: HealthRules | None = None) -> Health | None:
    """The health of one object; None for a kind with neither a built-in nor a user rule."""
    group, kind = _group_kind(obj)
    custom = rules.get(group, kind) if rules is not None else None
    judge = custom.evaluate if custom is not None else BUILTIN.get((group, kind))
    if judge is None:
        return None
    if _metadata(obj).get("deletionTimestamp"):
        return Health(HealthStatus.progressing, "Pending deletion")
    return judge(obj)


def is_hook(obj: Mapping[str, Any]) -> bool:
    # One reading of hook annotations for planning, pruning and health: ours,
    # Argo CD's and Helm's, where a Helm crd-install object is no hook.
    return looks_like_hook(obj)


def aggregate(resources: Iterable[tuple[Mapping[str, Any], Health | None]]) -> Health | None:
    """An app's health: the worst of its resources' health.

    Hooks are left out (they come and go with each sync), so are resources
    without health. Missing resources count only when nothing else is there:
    OutOfSync already reports them, and a missing object must not hide that
    the rest is Degraded, nor make an otherwise empty app look Healthy.
    """
    judged = [health for obj, health in resources if health is not None and not is_hook(obj)]
    present = [h for h in judged if h.status is not HealthStatus.missing]
    return worst(present) if present else worst(judged)
