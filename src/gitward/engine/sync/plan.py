"""The order of a sync: phase, then wave, then kind, then name.

`plan` turns the desired objects into waves of steps. The executor applies a
wave's steps concurrently and starts the next wave once they are healthy.
The order is total: the same objects give the same plan whatever order the
renderer listed them in.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from gitward.engine import options as sync_options
from gitward.engine.annotations import HELM_HOOK, HELM_HOOK_WEIGHT, SYNC_WAVE, describe, first
from gitward.engine.hooks import Hook, hook_of
from gitward.model.resource import ResourceKey
from gitward.model.sync import (
    HookType,
    Ignored,
    Phase,
    Plan,
    PlannedStep,
    SyncOptions,
    SyncSpecError,
    Wave,
)

# REFERENCE §2; a kind not listed comes after all of these.
KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
_OTHER_KINDS = len(KIND_ORDER)

# What Go's strconv.Atoi accepts, which is what Argo CD reads waves with.
_INTEGER = re.compile(r"[+-]?[0-9]+")


def kind_rank(kind: str) -> int:
    return _KIND_RANK.get(kind, _OTHER_KINDS)


def wave_of(obj: Mapping[str, Any]) -> int:
    """The sync-wave annotation (ours, then Argo CD's), else Helm's hook-weight, else 0."""
    found = first(obj, SYNC_WAVE) or first(obj, HELM_HOOK_WEIGHT)
    if found is None:
        return 0
    name, text = found
    if not _INTEGER.fullmatch(text.strip()):
        raise SyncSpecError(f"{describe(obj)}: annotation {name}={text!r} is not an integer")
    return int(text.strip())


def plan(objects: Iterable[Mapping[str, Any]], app_options: SyncOptions | None = None) -> Plan:
    """The ordered waves for `objects`; a problem in any one object fails the whole plan."""
    app = app_options if app_options is not None else SyncOptions()
    steps: list[PlannedStep] = []
    ignored: list[Ignored] = []
    seen: dict[tuple[ResourceKey, Phase], Mapping[str, Any]] = {}
    for obj in objects:
        key = ResourceKey.of(obj)
        hook = hook_of(obj)
        if hook is not None and not hook.phases:
            ignored.append(Ignored(key, _ignored_reason(obj, hook)))
            continue
        wave = wave_of(obj)
        effective = sync_options.effective(app, obj)
        if hook is None:
            targets: list[tuple[Phase, HookType | None]] = [(Phase.sync, None)]
        else:
            targets = [(phase, HookType(phase.value)) for phase in hook.phases]
        for phase, hook_type in targets:
            if key.name:
                if (key, phase) in seen:
                    raise SyncSpecError(f"{key} is declared twice")
                seen[(key, phase)] = obj
            steps.append(
                PlannedStep(
                    key=key,
                    phase=phase,
                    wave=wave,
                    obj=obj,
                    options=effective,
                    hook=hook_type,
                    delete_policies=hook.delete_policies if hook is not None else frozenset(),
                )
            )
    steps = _pull_dependencies_forward(steps)
    steps.sort(key=order_key)
    waves = [
        Wave(phase, number, tuple(members))
        for (phase, number), members in groupby(steps, key=lambda s: (s.phase, s.wave))
    ]
    return Plan(
        waves=tuple(w for w in waves if w.phase is not Phase.sync_fail),
        sync_fail=tuple(w for w in waves if w.phase is Phase.sync_fail),
        ignored=tuple(sorted(ignored, key=lambda i: (i.key, i.reason))),
    )


def order_key(step: PlannedStep) -> tuple[int, int, int, str, str, str, str, str]:
    """Phase, wave, kind, name; then the rest of the identity, so no two steps tie."""
    key = step.key
    name = key.name or _generate_name(step.obj)
    # Only unnamed hooks (generateName) can share every part of the identity.
    tiebreak = "" if key.name else json.dumps(step.obj, sort_keys=True, default=str)
    return (
        step.phase.rank,
        step.wave,
        kind_rank(key.kind),
        name,
        key.kind,
        key.namespace,
        key.group,
        tiebreak,
    )


def _pull_dependencies_forward(steps: list[PlannedStep]) -> list[PlannedStep]:
    """A Namespace or CRD moves to the earliest phase and wave of the objects that need it.

    Otherwise a PreSync hook (or an earlier wave) in a namespace the same app
    creates later would fail with "namespace not found". Only the dependency
    moves, as Argo CD does: the user's order for everything else stands.
    SyncFail steps do not pull anything forward; they run only after a failure.
    """
    earliest: dict[tuple[str, str], tuple[int, int, Phase]] = {}
    for step in steps:
        if step.phase is Phase.sync_fail:
            continue
        for need in _needs(step):
            slot: tuple[int, int, Phase] = (step.phase.rank, step.wave, step.phase)
            if need not in earliest or slot[:2] < earliest[need][:2]:
                earliest[need] = slot
    moved = []
    for step in steps:
        provided = _provides(step)
        target = earliest.get(provided) if provided is not None and not step.is_hook else None
        if target is not None and target[:2] < (step.phase.rank, step.wave):
            step = dataclasses.replace(step, phase=target[2], wave=target[1])
        moved.append(step)
    return moved


def _needs(step: PlannedStep) -> list[tuple[str, str]]:
    needs = [("CustomResourceDefinition", f"{step.key.group}/{step.key.kind}")]
    if step.key.namespace:
        needs.append(("Namespace", step.key.namespace))
    return needs


def _provides(step: PlannedStep) -> tuple[str, str] | None:
    """What a step creates that others may need: a namespace, or a CRD's group/kind."""
    if step.key.group == "" and step.key.kind == "Namespace":
        return ("Namespace", step.key.name)
    if step.key.group == "apiextensions.k8s.io" and step.key.kind == "CustomResourceDefinition":
        spec = step.obj.get("spec")
        names = spec.get("names") if isinstance(spec, Mapping) else None
        group = spec.get("group") if isinstance(spec, Mapping) else None
        kind = names.get("kind") if isinstance(names, Mapping) else None
        if isinstance(group, str) and isinstance(kind, str):
            return ("CustomResourceDefinition", f"{group}/{kind}")
    return None


def _generate_name(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    value = metadata.get("generateName") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) else ""


def _ignored_reason(obj: Mapping[str, Any], hook: Hook) -> str:
    if hook.skip:
        return "hook Skip: never applied"
    if hook.on_delete_only:
        names = ",".join(sorted(hook.types))
        return f"hook {names} runs only when the app is deleted: not applied by a sync"
    helm = first(obj, HELM_HOOK)
    value = helm[1] if helm is not None else ""
    return f"Helm hook {value!r} has no sync phase: not applied"
