"""What a sync deletes: live objects of this app that the revision no longer declares.

Deleting is the one thing a GitOps tool cannot undo, so every rule here errs
towards keeping: an object is pruned only when its tracking id names that
very object and this app, it lies where the app's project lets the app
manage it (`Scope`), nobody else claims it, nothing asks to keep it, and the
revision is not suspiciously empty. Whatever is kept is reported.

The tracking id alone proves nothing: it is an annotation, and whoever may
patch an object may write any app's id on it. The project is what the
cluster admin granted the app, so it bounds what the app's prune and
cascade delete may touch, with the very rule that bounds what it may apply
(`project_policy.object_refusal`). An object outside it is not the app's: it
is never deleted, never counted as drift, and reported (`outside`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from gitward.engine import options as sync_options
from gitward.engine import project_policy as policy
from gitward.engine.hooks import looks_like_hook
from gitward.engine.sync.plan import kind_rank, wave_of
from gitward.engine.tracking import owner
from gitward.model.application import Application
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey
from gitward.model.sync import (
    Kept,
    Phase,
    PrunePlan,
    PruneStep,
    SharedResourceError,
    SyncOptions,
    SyncSpecError,
    Wave,
)

EMPTY_REVISION = "the revision declares no objects and allowEmpty is off"


@dataclass(frozen=True)
class Scope:
    """Where an app may delete: its project, on its destination cluster (server URL or name)."""

    project: AppProject
    server: str = ""
    cluster: str = ""

    @classmethod
    def of(cls, project: AppProject, app: Application) -> Scope:
        destination = app.spec.destination
        return cls(project, destination.server, destination.name)

    def refusal(self, key: ResourceKey) -> str | None:
        """Why this live object is outside the project (the text to report), or None when inside.

        A live object's namespace says its scope: the API server sets it on
        namespaced objects only, so no discovery is needed (Argo CD reads it
        the same way).
        """
        why = policy.object_refusal(self.project, self.server, self.cluster, key, bool(key.namespace))
        if why is None:
            return None
        return (
            f"carries this app's tracking id but lies outside project '{self.project.name}' ({why}); "
            "not the app's, so never pruned"
        )


def partition(
    app: str, live: Iterable[Mapping[str, Any]], scope: Scope | None
) -> tuple[list[Mapping[str, Any]], list[Kept]]:
    """The live objects tracked as `app`'s, split into those inside its scope and those outside (why).

    An object whose id names another object (a copy) or another app is in neither.
    """
    inside: list[Mapping[str, Any]] = []
    outside: list[Kept] = []
    for obj in live:
        if owner(obj) != app:
            continue
        key = ResourceKey.of(obj)
        why = scope.refusal(key) if scope is not None else None
        if why is None:
            inside.append(obj)
        else:
            outside.append(Kept(key, why))
    return inside, sorted(outside, key=lambda k: k.key)


def report(outside: Sequence[Kept], limit: int = 10) -> str:
    """One message naming each object outside the project and why (the first `limit` of them)."""
    lines = [f"{kept.key}: {kept.reason}" for kept in outside[:limit]]
    if len(outside) > limit:
        lines.append(f"and {len(outside) - limit} more")
    return "; ".join(lines)


def prune_plan(
    app: str,
    desired: Iterable[ResourceKey],
    live: Iterable[Mapping[str, Any]],
    app_options: SyncOptions | None = None,
    *,
    allow_empty: bool = False,
    claimed_by_others: Mapping[ResourceKey, Collection[str]] | None = None,
    scope: Scope | None = None,
) -> PrunePlan:
    """Decide what to prune.

    `desired` holds the key of every object the revision declares (hooks and
    skipped objects included), with namespaces filled in as they are applied.
    `claimed_by_others` maps a key to the other apps that declare it: an
    object moving from one app to another must survive the first app's sync.
    `scope` is what the app's project permits; None (push mode, where the
    operator runs the sync by hand and no project applies) trusts the id.
    """
    app_wide = app_options if app_options is not None else SyncOptions()
    wanted = set(desired)
    others = claimed_by_others or {}
    steps: list[PruneStep] = []
    kept: list[Kept] = []
    shared: list[ResourceKey] = []
    mine, outside = partition(app, live, scope)
    for obj in mine:
        key = ResourceKey.of(obj)
        if key in wanted or looks_like_hook(obj):
            continue
        if any(other != app for other in others.get(key, ())):
            shared.append(key)
            continue
        try:
            effective = sync_options.effective(app_wide, obj)
            wave = wave_of(obj)
        except SyncSpecError as err:
            kept.append(Kept(key, f"its annotations cannot be read ({err})"))
            continue
        if not effective.prune:
            kept.append(Kept(key, "Prune=false"))
        elif not wanted and not allow_empty:
            kept.append(Kept(key, EMPTY_REVISION))
        else:
            steps.append(
                PruneStep(
                    key=key,
                    wave=wave,
                    propagation=effective.prune_propagation_policy,
                    uid=_uid(obj),
                    prune_last=effective.prune_last,
                )
            )
    if shared and sync_options.effective(app_wide).fail_on_shared_resource:
        names = ", ".join(str(k) for k in sorted(shared))
        raise SharedResourceError(f"FailOnSharedResource: also declared by another app: {names}")
    steps.sort(key=_prune_order)
    groups = tuple(tuple(g) for _, g in groupby(steps, key=lambda s: (s.prune_last, s.wave)))
    return PrunePlan(
        groups=groups,
        kept=tuple(sorted(kept, key=lambda k: k.key)),
        shared=tuple(sorted(shared)),
        # A desired key outside the project never gets this far: the apply side refuses the revision.
        outside=tuple(k for k in outside if k.key not in wanted),
    )


def interleave(waves: Sequence[Wave], pruning: PrunePlan) -> list[Wave | tuple[PruneStep, ...]]:
    """The waves with the prune groups placed among them, in the order a sync runs them (Argo CD's).

    Pruning belongs to the Sync phase. The waves that hold objects to prune
    are taken in reverse: the i-th lowest of them gives its place to the
    i-th highest, so what was created last goes first, and each group runs
    before the Sync wave of the place it takes (a wave's deletions finish
    before its applies start). PruneLast groups run after every Sync wave.
    All of them run before the first PostSync wave.
    """
    normal = [group for group in pruning.groups if group and not group[0].prune_last]
    last = [group for group in pruning.groups if group and group[0].prune_last]
    numbers = sorted({group[0].wave for group in normal})
    place = dict(zip(numbers, reversed(numbers), strict=True))
    pending = sorted(normal, key=lambda group: place[group[0].wave])
    out: list[Wave | tuple[PruneStep, ...]] = []
    for wave in waves:
        if wave.phase is Phase.sync:
            while pending and place[pending[0][0].wave] <= wave.number:
                out.append(pending.pop(0))
        elif wave.phase is Phase.post_sync:
            out += pending + last
            pending, last = [], []
        out.append(wave)
    return out + pending + last


def _prune_order(step: PruneStep) -> tuple[bool, int, int, ResourceKey]:
    """PruneLast after the rest; within each, the last wave first and, in a wave, the reverse kind order.

    Reversing the apply order removes users before what they use (a Deployment
    before its ServiceAccount, every namespaced object before its Namespace).
    """
    return (step.prune_last, -step.wave, -kind_rank(step.key.kind), step.key)


def _uid(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, Mapping) else None
    return uid if isinstance(uid, str) and uid else None
