"""What a resumed sync skips and waits for: the hooks an interrupted attempt finished or had started.

Pure rules over plain values (objects as mappings, finished hooks as
DoneHook records, timestamps as the API's RFC 3339 strings), so each is
tested without a cluster; the controller reads the cluster and passes in
what it saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.engine.hooks import Hook, hook_of
from gitward.engine.sync.plan import wave_of
from gitward.model.resource import TRACKING_ANNOTATION, ResourceKey
from gitward.model.status import OperationPhase, ResultCode
from gitward.model.sync import PlannedStep, SyncSpecError

__all__ = ["DoneHook", "HookFinished", "adoptable", "one_burst", "started_since", "without_done_hooks"]


@dataclass(frozen=True)
class DoneHook:
    """A hook that succeeded in one phase of an attempt: an entry of `syncResult.resources`."""

    group: str
    kind: str
    namespace: str
    # The run's own name (a generateName hook's differs from its manifest's prefix).
    name: str
    sync_phase: str
    hook_type: str
    message: str = ""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> DoneHook | None:
        """The hook a stored result entry says succeeded; None for any other entry."""
        if entry.get("hookPhase") != OperationPhase.succeeded:
            return None
        return cls(
            group=str(entry.get("group") or ""),
            kind=str(entry.get("kind") or ""),
            namespace=str(entry.get("namespace") or ""),
            name=str(entry.get("name") or ""),
            sync_phase=str(entry.get("syncPhase") or ""),
            hook_type=str(entry.get("hookType") or ""),
            message=str(entry.get("message") or ""),
        )

    @classmethod
    def ran(cls, key: ResourceKey, step: PlannedStep, message: str) -> DoneHook:
        """A hook step of this sync that succeeded; `key` names its run (a generateName one's own)."""
        return cls(key.group, key.kind, key.namespace, key.name, str(step.phase), str(step.hook), message)

    @classmethod
    def adopted(cls, obj: Mapping[str, Any], hook: Hook, message: str) -> DoneHook:
        """An adoptable hook (see `adoptable`) whose interrupted run was seen to succeed."""
        key = ResourceKey.of(obj)
        types = sorted(str(t) for t in hook.types)
        hook_type = types[0] if len(types) == 1 else ",".join(types)
        return cls(key.group, key.kind, key.namespace, key.name, str(hook.phases[0]), hook_type, message)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.group, self.kind, self.namespace, self.name)

    def as_entry(self) -> dict[str, Any]:
        """As `syncResult.resources` lists it (what a resumed sync skips)."""
        return {
            "group": self.group,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": str(ResultCode.synced),
            "message": self.message,
            "syncPhase": self.sync_phase,
            "hookType": self.hook_type,
            "hookPhase": str(OperationPhase.succeeded),
        }


# Told of each hook as soon as it succeeds, before the sync goes on: a record of it survives a crash.
HookFinished = Callable[[DoneHook], Awaitable[None]]


def one_burst(objects: Sequence[Mapping[str, Any]]) -> bool:
    """No hooks and a single wave: a sync of `objects` is one burst of applies, nothing to resume."""
    try:
        waves = {wave_of(obj) for obj in objects}
    except SyncSpecError:
        return False  # the sync refuses it and says why
    return len(waves) <= 1 and not any(hook_of(obj) is not None for obj in objects)


def without_done_hooks(objects: Sequence[dict[str, Any]], done: Sequence[DoneHook]) -> list[dict[str, Any]]:
    """The objects minus the hooks that already finished in every phase they run in."""
    if not done:
        return list(objects)
    kept = []
    for obj in objects:
        hook = hook_of(obj)
        phases = {str(p) for p in hook.phases} if hook is not None else set()
        finished = {d.sync_phase for d in done if _same_hook(obj, d)}
        if not phases or not phases <= finished:
            kept.append(obj)
    return kept


def adoptable(
    objects: Sequence[Mapping[str, Any]], done: Sequence[DoneHook]
) -> list[tuple[Mapping[str, Any], Hook]]:
    """The hooks an interrupted attempt may have left running: named, of one phase, not yet done.

    A named hook's run keeps its name, so the live object can be found and waited for; a
    generateName run cannot be told from an older one, and a hook of two phases runs once in each.
    """
    found = []
    for obj in objects:
        hook = hook_of(obj)
        if hook is None or len(hook.phases) != 1 or not ResourceKey.of(obj).name:
            continue
        if not any(_same_hook(obj, d) for d in done):
            found.append((obj, hook))
    return found


def started_since(live: Mapping[str, Any], owner: str, since: str) -> bool:
    """Whether a live hook is the interrupted attempt's run: tracked by `owner`, created at or after
    `since` (the operation's startedAt). Only that attempt can have created it since."""
    metadata = live.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    ours = str(annotations.get(TRACKING_ANNOTATION, "")).partition(":")[0] == owner
    # RFC 3339 UTC stamps of whole seconds compare as strings.
    return ours and str(metadata.get("creationTimestamp", "")) >= since


def _same_hook(obj: Mapping[str, Any], done: DoneHook) -> bool:
    key = ResourceKey.of(obj)
    if (key.group, key.kind, key.namespace) != (done.group, done.kind, done.namespace):
        return False
    if key.name:
        return key.name == done.name
    prefix = str((obj.get("metadata") or {}).get("generateName") or "")
    return bool(prefix) and done.name.startswith(prefix)
