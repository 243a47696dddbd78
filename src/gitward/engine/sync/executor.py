"""The writes of a sync, one object at a time: apply with its options, run a hook, delete.

Decisions (which objects, in which order) are made elsewhere; this module
turns one decision into requests and reports what the server said, in
words that name the object and the field but never a Secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitward.engine.diff import client_apply
from gitward.engine.diff.applied import AppliedMemo
from gitward.engine.diff.client_apply import with_last_applied
from gitward.engine.sync import waits
from gitward.kube import KubeError, Propagation, Writer
from gitward.model.resource import ResourceKey
from gitward.model.status import OperationPhase
from gitward.model.sync import DeletePolicy, EffectiveOptions, PlannedStep

# "spec.template: Invalid value: ...: field is immutable", "spec.clusterIPs[0]: ...: may not change once set"
_IMMUTABLE = re.compile(
    r"([\w.\[\]]+): (?:Invalid value: .*?: |Forbidden: .*?)?(?:field is immutable|may not change once set)"
)


class StepFailed(Exception):
    """One object could not be applied; the message names it and the reason."""


def immutable_fields(message: str) -> list[str]:
    """The fields an apiserver error calls immutable (empty when it is another error)."""
    if "immutable" not in message and "may not change once set" not in message:
        return []
    found = [m.group(1) for m in _IMMUTABLE.finditer(message)]
    return found or ["(a field)"]


def refusal(key: ResourceKey, message: str, options: EffectiveOptions) -> str:
    """How a rejected object is reported; an immutable change says which field and what to do."""
    fields = immutable_fields(message)
    if fields and not options.force:
        return (
            f"{key}: cannot change immutable field {', '.join(fields)}; "
            "set the sync option Force=true to delete and re-create it"
        )
    return f"{key}: {message}"


@dataclass(frozen=True)
class HookOutcome:
    succeeded: bool
    phase: OperationPhase  # Succeeded, Failed, Running (timed out)
    message: str
    name: str


class Executor:
    """Requests for one sync; `dry_runs` counts the dry runs it sent itself (they are not writes)."""

    def __init__(
        self,
        writer: Writer,
        memo: AppliedMemo,
        *,
        timeout: float,
        progress: waits.Progress | None = None,
    ) -> None:
        self.writer = writer
        self.memo = memo
        self.timeout = timeout
        self.progress = progress
        self.dry_runs = 0

    async def apply(self, step: PlannedStep, live: Mapping[str, Any] | None) -> dict[str, Any]:
        """Apply one ordinary object with its options; the stored object."""
        try:
            stored = await self._write(step.obj, step.options, live)
        except KubeError as exc:
            if not (immutable_fields(exc.message) and step.options.force and live is not None):
                raise StepFailed(refusal(step.key, exc.message, step.options)) from None
            await self._recreate(step, live)
            try:
                stored = await self._write(step.obj, step.options, None)
            except KubeError as again:
                raise StepFailed(f"{step.key}: {again.message}") from None
        self.memo.remember(step.obj, stored)
        return stored

    async def _write(
        self, obj: Mapping[str, Any], options: EffectiveOptions, live: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if options.replace:
            return await self._replace(obj, live, strict=options.validate)
        if not options.server_side_apply:
            if live is None:
                return await self.create(with_last_applied(obj), strict=options.validate)
            patch = client_apply.patch_for(obj, live)
            if not patch:
                return dict(live)
            return await self.writer.merge_patch(obj, patch, strict=options.validate)
        # force: a sync takes back the fields a `kubectl edit` took; that is what GitOps means.
        return await self.writer.apply(obj, force=True, strict=options.validate)

    async def _replace(
        self, obj: Mapping[str, Any], live: Mapping[str, Any] | None, *, strict: bool
    ) -> dict[str, Any]:
        """Replace=true: PUT over the live object (POST when absent), as `kubectl replace` does."""
        if live is None:
            return await self.create(obj, strict=strict)
        version = (live.get("metadata") or {}).get("resourceVersion")
        return await self.writer.replace(obj, version, strict=strict)

    async def create(
        self, obj: Mapping[str, Any], *, strict: bool = True, dry_run: bool = False
    ) -> dict[str, Any]:
        """POST: the only way to create an object with `generateName` (hooks), and Replace's create."""
        if dry_run:
            self.dry_runs += 1
        return await self.writer.create(obj, strict=strict, dry_run=dry_run)

    async def _recreate(self, step: PlannedStep, live: Mapping[str, Any]) -> None:
        uid = (live.get("metadata") or {}).get("uid")
        if self.progress is not None:
            self.progress(f"{step.key}: immutable field changed; Force=true: deleting and re-creating")
        # Background: the object goes at once and its dependents are collected later, so a Job's
        # re-creation does not wait for every old pod to terminate.
        await self.delete(step.obj, uid=uid, propagation=Propagation.background)
        if not await waits.wait_gone(self.writer, step.obj, uid=uid, timeout=self.timeout):
            raise StepFailed(
                f"{step.key}: Force=true, but the old object was not deleted within {self.timeout:g}s"
            )
        self.memo.forget(step.key)

    async def delete(self, obj: Mapping[str, Any], *, uid: str | None, propagation: Propagation) -> bool:
        key = ResourceKey.of(obj)
        return await self.writer.delete(
            str(obj.get("apiVersion")), key.kind, key.name, key.namespace, propagation=propagation, uid=uid
        )

    async def run_hook(self, step: PlannedStep) -> HookOutcome:
        """Create the hook (BeforeHookCreation deletes its last run first), wait, apply delete policies."""
        obj = step.obj
        policies = step.delete_policies
        if step.key.name and DeletePolicy.before_hook_creation in policies:
            previous = await waits.read(self.writer, obj)
            if previous is not None:
                uid = (previous.get("metadata") or {}).get("uid")
                await self.delete(obj, uid=uid, propagation=Propagation.background)
                if not await waits.wait_gone(self.writer, obj, uid=uid, timeout=self.timeout):
                    return HookOutcome(
                        False,
                        OperationPhase.failed,
                        "its previous run was not deleted in time",
                        step.key.name,
                    )
        try:
            if step.key.name:
                created = await self.writer.apply(obj, force=True, strict=step.options.validate)
            else:
                created = await self.create(obj, strict=step.options.validate)
        except KubeError as exc:
            failed = refusal(step.key, exc.message, step.options)
            return HookOutcome(False, OperationPhase.failed, failed, step.key.name)
        name = str((created.get("metadata") or {}).get("name") or step.key.name)
        if self.progress is not None:
            self.progress(f"hook {step.hook} {step.key.kind} {name}: started")
        finished, message = await waits.wait_finished(
            self.writer, created, timeout=self.timeout, progress=self.progress
        )
        if finished is None:
            return HookOutcome(False, OperationPhase.running, message, name)
        wanted = DeletePolicy.hook_succeeded if finished else DeletePolicy.hook_failed
        if wanted in policies:
            uid = (created.get("metadata") or {}).get("uid")
            await self.delete(created, uid=uid, propagation=Propagation.background)
        phase = OperationPhase.succeeded if finished else OperationPhase.failed
        return HookOutcome(finished, phase, message, name)
