"""Which objects are hooks, for which phases, and when each hook is deleted.

Our annotation (`gitward.dev/hook`) and Argo CD's are read as one; when an
object has neither, Helm's hook annotations are mapped the way Argo CD maps
them. A value gitward cannot read is an error naming the object, so a typo
never turns a hook into an ordinary resource (or the reverse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitward.engine.annotations import (
    HELM_HOOK,
    HELM_HOOK_DELETE_POLICY,
    HOOK,
    HOOK_DELETE_POLICY,
    csv,
    describe,
    first,
)
from gitward.model.sync import DeletePolicy, HookType, Phase, SyncSpecError

_HOOK_TYPES = {t.value: t for t in HookType}
_DELETE_POLICIES = {p.value: p for p in DeletePolicy}

_HELM_TYPES = {
    "pre-install": HookType.pre_sync,
    "pre-upgrade": HookType.pre_sync,
    "post-install": HookType.post_sync,
    "post-upgrade": HookType.post_sync,
}
# Helm hooks with no Argo CD counterpart: Argo CD does not run them, and neither do we
# (the plan lists them as ignored, so the user sees it).
_HELM_UNMAPPED = frozenset(
    {"pre-delete", "post-delete", "pre-rollback", "post-rollback", "test", "test-success", "test-failure"}
)
# Helm marks CRDs this way in old charts; they are ordinary resources, not hooks.
_HELM_CRD_INSTALL = "crd-install"
_HELM_DELETE_POLICIES = {
    "hook-succeeded": DeletePolicy.hook_succeeded,
    "hook-failed": DeletePolicy.hook_failed,
    "before-hook-creation": DeletePolicy.before_hook_creation,
}


@dataclass(frozen=True)
class Hook:
    """What the hook annotations of one object say. Empty `types`: a Helm hook we do not run."""

    types: frozenset[HookType]
    delete_policies: frozenset[DeletePolicy]

    @property
    def skip(self) -> bool:
        return self.types == {HookType.skip}

    @property
    def phases(self) -> tuple[Phase, ...]:
        """The sync phases it runs in; none for Skip, deletion-only and unmapped Helm hooks."""
        return tuple(sorted((Phase(t.value) for t in self.types if t.value in _PHASES), key=_rank))

    @property
    def on_delete_only(self) -> bool:
        return bool(self.types) and self.types <= _DELETION


_PHASES = frozenset(p.value for p in Phase)
_DELETION = frozenset({HookType.pre_delete, HookType.post_delete})


def _rank(phase: Phase) -> int:
    return phase.rank


def hook_of(obj: Mapping[str, Any]) -> Hook | None:
    """None for an ordinary resource."""
    ours = first(obj, HOOK)
    if ours is not None:
        types = _own_types(obj, *ours)
    else:
        helm = first(obj, HELM_HOOK)
        if helm is None:
            return None
        helm_types = _helm_types(obj, helm[1])
        if helm_types is None:
            return None
        types = helm_types
    return Hook(types, delete_policies(obj))


def delete_policies(obj: Mapping[str, Any]) -> frozenset[DeletePolicy]:
    """Ours/Argo CD's and Helm's together (as Argo CD reads them); BeforeHookCreation by default."""
    found: set[DeletePolicy] = set()
    tables = ((HOOK_DELETE_POLICY, _DELETE_POLICIES), (HELM_HOOK_DELETE_POLICY, _HELM_DELETE_POLICIES))
    for names, known in tables:
        written = first(obj, names)
        if written is None:
            continue
        annotation, value = written
        for item in csv(value):
            policy = known.get(item)
            if policy is None:
                raise SyncSpecError(
                    f"{describe(obj)}: annotation {annotation}: unknown delete policy {item!r} "
                    f"(known: {', '.join(known)})"
                )
            found.add(policy)
    return frozenset(found) if found else frozenset({DeletePolicy.before_hook_creation})


def _own_types(obj: Mapping[str, Any], name: str, value: str) -> frozenset[HookType]:
    items = csv(value)
    if not items:
        raise SyncSpecError(f"{describe(obj)}: annotation {name} is empty")
    types: set[HookType] = set()
    for item in items:
        hook_type = _HOOK_TYPES.get(item)
        if hook_type is None:
            raise SyncSpecError(
                f"{describe(obj)}: annotation {name}: unknown hook {item!r} (known: {', '.join(_HOOK_TYPES)})"
            )
        types.add(hook_type)
    if HookType.skip in types and len(types) > 1:
        # Skipped and run at once cannot both hold; guessing either could surprise.
        raise SyncSpecError(f"{describe(obj)}: annotation {name}: Skip cannot be combined with other hooks")
    return frozenset(types)


def _helm_types(obj: Mapping[str, Any], value: str) -> frozenset[HookType] | None:
    items = csv(value)
    if items == [_HELM_CRD_INSTALL]:
        return None
    types: set[HookType] = set()
    for item in items:
        if item in _HELM_TYPES:
            types.add(_HELM_TYPES[item])
        elif item not in _HELM_UNMAPPED and item != _HELM_CRD_INSTALL:
            raise SyncSpecError(f"{describe(obj)}: annotation {HELM_HOOK}: unknown Helm hook {item!r}")
    return frozenset(types)


def looks_like_hook(obj: Mapping[str, Any]) -> bool:
    """Whether a live object carries any hook annotation, even one we cannot read.

    Hooks are removed by their delete policies, never by pruning; a live object
    whose hook annotation is unreadable is still treated as a hook, so doubt
    never leads to a deletion.
    """
    try:
        return hook_of(obj) is not None
    except SyncSpecError:
        return True
