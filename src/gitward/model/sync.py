"""Plain data for one sync: its options, the ordered plan, and what to prune.

The engine fills these in (`gitward.engine.options`, `.plan`, `.prune`); the
executor, the controller's status writer and the API read them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.model.resource import ResourceKey


class SyncSpecError(ValueError):
    """A sync option, hook, wave or tracking id that cannot be understood.

    The controller reports it as an InvalidSpecError condition; the message
    names the option or the object, never a value taken from a Secret's data.
    """


class SharedResourceError(SyncSpecError):
    """FailOnSharedResource is set and another app tracks one of our objects."""


class Phase(enum.StrEnum):
    """Declared in the order a sync runs them; SyncFail runs only after a failure."""

    pre_sync = "PreSync"
    sync = "Sync"
    post_sync = "PostSync"
    sync_fail = "SyncFail"

    @property
    def rank(self) -> int:
        return _PHASE_RANK[self]


_PHASE_RANK = {phase: rank for rank, phase in enumerate(Phase)}


class HookType(enum.StrEnum):
    pre_sync = "PreSync"
    sync = "Sync"
    post_sync = "PostSync"
    sync_fail = "SyncFail"
    skip = "Skip"
    # Argo CD runs these only when the app is deleted, never during a sync.
    pre_delete = "PreDelete"
    post_delete = "PostDelete"


class DeletePolicy(enum.StrEnum):
    hook_succeeded = "HookSucceeded"
    hook_failed = "HookFailed"
    before_hook_creation = "BeforeHookCreation"


class PropagationPolicy(enum.StrEnum):
    """The Kubernetes DeleteOptions spelling, which is what the executor sends."""

    foreground = "Foreground"
    background = "Background"
    orphan = "Orphan"


@dataclass(frozen=True)
class SyncOptions:
    """Options as written in one place (app-wide or one resource); None means "not said here"."""

    create_namespace: bool | None = None
    server_side_apply: bool | None = None
    replace: bool | None = None
    force: bool | None = None
    apply_out_of_sync_only: bool | None = None
    validate: bool | None = None
    prune_last: bool | None = None
    prune_propagation_policy: PropagationPolicy | None = None
    prune: bool | None = None
    delete: bool | None = None
    fail_on_shared_resource: bool | None = None
    respect_ignore_differences: bool | None = None


@dataclass(frozen=True)
class EffectiveOptions:
    """The options that apply to one object once the defaults are filled in."""

    create_namespace: bool = False
    server_side_apply: bool = True
    replace: bool = False
    force: bool = False
    apply_out_of_sync_only: bool = False
    validate: bool = True
    prune_last: bool = False
    prune_propagation_policy: PropagationPolicy = PropagationPolicy.foreground
    prune: bool = True
    delete: bool = True
    fail_on_shared_resource: bool = False
    respect_ignore_differences: bool = False


@dataclass(frozen=True)
class TrackingId:
    """`<app>:<group>/<kind>:<namespace>/<name>`: which app manages which object."""

    app: str
    key: ResourceKey


@dataclass(frozen=True)
class PlannedStep:
    """One object to apply (or one hook to run) in one phase and wave."""

    key: ResourceKey
    phase: Phase
    wave: int
    obj: Mapping[str, Any]
    options: EffectiveOptions
    # None for an ordinary resource; the hook type when the object is a hook.
    hook: HookType | None = None
    delete_policies: frozenset[DeletePolicy] = frozenset()

    @property
    def is_hook(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class Wave:
    """Steps the executor may apply concurrently; the next wave waits for their health."""

    phase: Phase
    number: int
    steps: tuple[PlannedStep, ...]


@dataclass(frozen=True)
class Ignored:
    """A desired object the sync leaves out, and why (shown to the user, never silent)."""

    key: ResourceKey
    reason: str


@dataclass(frozen=True)
class Plan:
    waves: tuple[Wave, ...]
    # Run only when the sync failed, in this order.
    sync_fail: tuple[Wave, ...] = ()
    ignored: tuple[Ignored, ...] = ()

    @property
    def steps(self) -> tuple[PlannedStep, ...]:
        return tuple(step for wave in self.waves for step in wave.steps)


@dataclass(frozen=True)
class PruneStep:
    key: ResourceKey
    wave: int
    propagation: PropagationPolicy
    # Passed as a delete precondition, so a copy re-created under the same name is not deleted.
    uid: str | None
    prune_last: bool


@dataclass(frozen=True)
class Kept:
    """A live object that would be pruned but is kept; it is reported as requiresPruning."""

    key: ResourceKey
    reason: str


@dataclass(frozen=True)
class PrunePlan:
    # Ordered groups: each is deleted together, the next once it is gone.
    groups: tuple[tuple[PruneStep, ...], ...] = ()
    kept: tuple[Kept, ...] = ()
    # Our objects another app also claims: left alone, reported as SharedResourceWarning.
    shared: tuple[ResourceKey, ...] = field(default=())
    # Objects carrying our tracking id outside the app's project: not ours, never deleted, reported.
    outside: tuple[Kept, ...] = field(default=())

    @property
    def steps(self) -> tuple[PruneStep, ...]:
        return tuple(step for group in self.groups for step in group)
