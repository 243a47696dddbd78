"""Sync options: Argo CD's `syncOptions` strings, app-wide or per resource.

An option gitward does not know, or a value it cannot read, is an error that
names it: a typo such as `Prunelast=true` must not silently leave the default
in force (Argo CD ignores it; the user then wonders why nothing changed).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from gitward.engine.annotations import SYNC_OPTIONS, csv, describe, first
from gitward.model.sync import EffectiveOptions, PropagationPolicy, SyncOptions, SyncSpecError

# Option name -> field of SyncOptions; every one takes true/false except the policy.
_FIELDS = {
    "CreateNamespace": "create_namespace",
    "ServerSideApply": "server_side_apply",
    "Replace": "replace",
    "Force": "force",
    "ApplyOutOfSyncOnly": "apply_out_of_sync_only",
    "Validate": "validate",
    "PruneLast": "prune_last",
    "PrunePropagationPolicy": "prune_propagation_policy",
    "Prune": "prune",
    "Delete": "delete",
    "FailOnSharedResource": "fail_on_shared_resource",
    "RespectIgnoreDifferences": "respect_ignore_differences",
}

# They concern the whole app (its namespace, its diff, its relation to other apps),
# so on one resource they would be meaningless: refused rather than ignored.
# RespectIgnoreDifferences is not among them: one object may keep its ignored fields.
APP_ONLY = frozenset({"CreateNamespace", "ApplyOutOfSyncOnly", "FailOnSharedResource"})

_POLICIES = {policy.value.lower(): policy for policy in PropagationPolicy}
_BOOLEANS = {"true": True, "false": False}


def parse(items: Iterable[str], *, where: str = "syncOptions", resource: bool = False) -> SyncOptions:
    """Options from a list of `Name=value` strings; `where` prefixes every error message."""
    values: dict[str, object] = {}
    for raw in items:
        if not isinstance(raw, str):
            raise SyncSpecError(f"{where}: sync option {raw!r} must be a string")
        item = raw.strip()
        if not item:
            continue
        name, eq, text = (part.strip() for part in item.partition("="))
        if name not in _FIELDS:
            raise SyncSpecError(f"{where}: unknown sync option {name!r}{_suggestion(name)}")
        if not eq or not text:
            raise SyncSpecError(f"{where}: sync option {item!r} needs a value ({name}=...)")
        if resource and name in APP_ONLY:
            raise SyncSpecError(f"{where}: sync option {name} applies to the whole app, not to one resource")
        value = _value(name, text, where)
        field = _FIELDS[name]
        if field in values and values[field] != value:
            raise SyncSpecError(f"{where}: sync option {name} is given twice with different values")
        values[field] = value
    return SyncOptions(**values)  # type: ignore[arg-type]


def readable(items: Iterable[str]) -> SyncOptions:
    """The options `items` state, or none when they cannot be read (the sync itself says why)."""
    try:
        return parse(items)
    except SyncSpecError:
        return SyncOptions()


def of_resource(obj: Mapping[str, Any]) -> SyncOptions:
    """The options an object carries in its annotations; ours win over Argo CD's, option by option."""
    found = SyncOptions()
    for name in reversed(SYNC_OPTIONS):
        annotation = first(obj, name)
        if annotation is not None:
            parsed = parse(csv(annotation[1]), where=f"{describe(obj)}: annotation {name}", resource=True)
            found = overlay(found, parsed)
    return found


def overlay(base: SyncOptions, top: SyncOptions) -> SyncOptions:
    """`base` with every option `top` states replaced by `top`'s value."""
    said = {f.name: getattr(top, f.name) for f in dataclasses.fields(top) if getattr(top, f.name) is not None}
    return dataclasses.replace(base, **said)


def effective(app: SyncOptions, obj: Mapping[str, Any] | None = None) -> EffectiveOptions:
    """The options for `obj`: its own annotation, then the app's, then gitward's defaults."""
    own = of_resource(obj) if obj is not None else None
    if own is None or own == _NOTHING_SAID:
        # Most objects say nothing; one lookup instead of a merge per object on large apps.
        return _app_wide(app)
    return _fill(overlay(app, own))


_NOTHING_SAID = SyncOptions()


@functools.lru_cache(maxsize=64)
def _app_wide(app: SyncOptions) -> EffectiveOptions:
    return _fill(app)


def _fill(merged: SyncOptions) -> EffectiveOptions:
    said = {f.name: getattr(merged, f.name) for f in dataclasses.fields(merged)}
    return EffectiveOptions(**{k: v for k, v in said.items() if v is not None})


def _value(name: str, text: str, where: str) -> bool | PropagationPolicy:
    if name == "PrunePropagationPolicy":
        policy = _POLICIES.get(text.lower())
        if policy is None:
            raise SyncSpecError(f"{where}: {name}={text} is not one of foreground, background, orphan")
        return policy
    boolean = _BOOLEANS.get(text.lower())
    if boolean is None:
        raise SyncSpecError(f"{where}: {name}={text} must be true or false")
    return boolean


def _suggestion(name: str) -> str:
    for known in _FIELDS:
        if known.lower() == name.lower():
            return f" (did you mean {known}?)"
    return f" (known: {', '.join(sorted(_FIELDS))})"
