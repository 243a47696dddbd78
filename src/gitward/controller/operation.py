"""The life of one sync operation of an Application: requested or automated, run, retried, resumed.

The record is the app's `status.operationState`. It says Running, with the
request itself (automated ones too, pinned to the commit they deploy),
before the first write to the cluster; so a controller killed in the middle
leaves a record the next one picks up, and it runs the same operation again
against the same revision. Running it again is safe: the engine writes
nothing for an object that already matches Git, and each hook that finishes
is added to `syncResult.resources` at once and left out of the re-run. The
one thing a crash can repeat is a hook cut off while it ran: it starts
afresh (BeforeHookCreation removes the interrupted run first), so hooks must
tolerate a second start, as they must in Argo CD.

One kind of operation is not recorded as Running: an automated sync, not
a retry, of a revision with no hooks and a single wave. It is one burst of
idempotent applies with nothing to wait for in between, so a controller
killed in the middle leaves nothing a record would help with: the next one
compares, finds the app OutOfSync and syncs it again, applying only what is
still missing, with one history entry. Skipping the record (and writing the
end with the pass's status, see `defer`) is two fewer writes of the
Application per sync, which is most of what a thousand apps' cold start
costs beyond the applies themselves.

A failed attempt is retried with backoff while the retry policy allows
(Running, `retryCount` counting, `finishedAt` the end of the last attempt,
which is what the backoff is measured from, also across a restart). Once
retries are spent the phase is Failed, and automation leaves that revision
alone until the commit or the source spec changes (Argo CD's rule); a
condition says so. The `gitward.dev/automation-paused` annotation, set by a
rollback, stops automated sync and self-heal until `gitward app sync`
removes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller import metrics
from gitward.controller.operation_request import (
    Pending,
    parse_time,
    retry_policy,
    revision_of,
    spec_sources,
    timestamp,
)
from gitward.controller.status import OperationEvent, StatusWriter
from gitward.engine import options as sync_options
from gitward.engine.desired import Revisioned
from gitward.engine.diff.compare import Comparer
from gitward.engine.diff.ignore import IgnoreRule
from gitward.engine.sync import resume, waits
from gitward.engine.sync.operation import SyncOperation
from gitward.engine.sync.prune import Scope
from gitward.engine.sync.result import SyncRequest, SyncResult
from gitward.engine.sync.resume import DoneHook
from gitward.engine.tracking import tracking_app
from gitward.kube import KubeError, Writer
from gitward.kube.store import Store
from gitward.model.application import Application, AppResource
from gitward.model.fields import SpecError
from gitward.model.operation import Operation
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey
from gitward.model.status import OperationPhase
from gitward.model.sync import SyncSpecError

log = structlog.get_logger(__name__)

__all__ = ["AppPass", "Operations", "Outcome"]

# How long an adopted hook is waited for: as long as a sync waits for one (SyncRequest.timeout).
_HOOK_WAIT = 300.0


@dataclass(frozen=True)
class AppPass:
    """The app one reconcile pass works on: its object (which follows what the pass writes), its
    parsed spec, its project and its ignoreDifferences rules."""

    obj: dict[str, Any]
    app: Application
    project: AppProject
    rules: Sequence[IgnoreRule] = ()

    @property
    def scope(self) -> Scope:
        """What the app's project lets its prune delete (a tracking id alone is not enough)."""
        return Scope.of(self.project, self.app)


@dataclass(frozen=True)
class Outcome:
    phase: OperationPhase
    # Seconds until the next attempt when a retry is due; None when the operation has ended.
    retry_in: float | None = None
    # With `defer`: the status fields the end sets, for the caller's next status write, and the
    # Event (reason, message, warning) to post after it (notifications read the written status).
    changes: Mapping[str, Any] | None = None
    event: tuple[str, str, bool] | None = None


@dataclass(frozen=True)
class _Attempt:
    """One attempt of an operation: the app, the request, and the revision and sources it deploys."""

    app_pass: AppPass
    todo: Pending
    revision: str
    sources: Mapping[str, Any]
    # The end is not written but returned (Outcome.changes) for the caller's status write.
    defer: bool = False

    @classmethod
    def of(cls, app_pass: AppPass, todo: Pending, revision: str, *, defer: bool = False) -> _Attempt:
        return cls(app_pass, todo, revision, _op_sources(app_pass.obj, todo), defer)


class Operations:
    """Runs operations for the reconciler; one per cluster, shared by the workers."""

    def __init__(
        self,
        writer: Writer,
        comparer: Comparer,
        store: Store,
        status: StatusWriter,
        resource: AppResource,
    ) -> None:
        self.writer = writer
        self.comparer = comparer
        self.store = store
        self.status = status
        self.resource = resource

    async def run(
        self, app_pass: AppPass, todo: Pending, rendered: Revisioned, *, defer: bool = False
    ) -> Outcome:
        """Record Running, sync `rendered`, record the end (or the retry); the app's object follows
        what is written. `defer`: the end is not written but returned (Outcome.changes)."""
        obj, app = app_pass.obj, app_pass.app
        attempt = _Attempt.of(app_pass, todo, rendered.revision, defer=defer)
        done: list[DoneHook] = list(todo.done_hooks)
        note = f"sync attempt #{todo.retry_count + 1}" if todo.retry_count else "sync started"
        if not _one_burst(todo, rendered.objects):
            # Written before anything reaches the cluster: a crash from here on is resumed.
            await self.put(obj, {"operationState": _running(attempt, note, done)})
        try:
            adopted = await self._adopt_hooks(todo, rendered.objects, tracking_app(app.namespace, app.name))
            request = self._request(app_pass, adopted, rendered)
        except (SyncSpecError, SpecError) as problem:
            return await self._end(attempt, OperationPhase.error, str(problem))
        if adopted is not todo:
            attempt = dataclasses.replace(attempt, todo=adopted)
            done[:] = adopted.done_hooks
            await self.put(obj, {"operationState": _running(attempt, note, done)})
        lock = asyncio.Lock()

        async def record(hook: DoneHook) -> None:
            async with lock:
                done.append(hook)
                await self.put(obj, {"operationState": _running(attempt, note, done)})

        operation = SyncOperation(
            request,
            self.writer,
            comparer=self.comparer,
            live_objects=self.store.tracked_by(request.app),
            watched=self.comparer.live,
            on_hook=record,
        )
        result = await operation.run()
        return await self._end(attempt, result.phase, result.message, result, done)

    async def _adopt_hooks(self, todo: Pending, objects: Sequence[Mapping[str, Any]], owner: str) -> Pending:
        """Hooks the interrupted attempt had started: waited for, and counted as done if they succeed.

        Letting such a run finish (rather than replacing it) means an interrupted hook still runs once.
        """
        if not todo.resumed:
            return todo
        adopted: list[DoneHook] = []
        for obj, hook in resume.adoptable(objects, todo.done_hooks):
            live = await waits.read(self.writer, obj)
            if live is None or not resume.started_since(live, owner, todo.started_at):
                continue
            log.info("waiting for a hook the interrupted sync started", hook=str(ResourceKey.of(obj)))
            finished, message = await waits.wait_finished(self.writer, live, timeout=_HOOK_WAIT)
            if finished:
                adopted.append(DoneHook.adopted(obj, hook, message))
        return dataclasses.replace(todo, done_hooks=(*todo.done_hooks, *adopted)) if adopted else todo

    async def cannot_start(self, app_pass: AppPass, todo: Pending, message: str) -> Outcome:
        """The operation's revision could not be resolved or rendered: it ends (or retries) with Error."""
        return await self._end(_Attempt.of(app_pass, todo, revision_of(todo)), OperationPhase.error, message)

    async def abandon(self, app_pass: AppPass, todo: Pending, message: str) -> Outcome:
        """End the operation as Failed without running it (a closed sync window, a newer revision)."""
        attempt = _Attempt.of(app_pass, todo, revision_of(todo))
        return await self._end(attempt, OperationPhase.failed, message, retry=False)

    async def _end(
        self,
        attempt: _Attempt,
        phase: OperationPhase,
        message: str,
        result: SyncResult | None = None,
        hooks: Sequence[DoneHook] = (),
        *,
        retry: bool = True,
    ) -> Outcome:
        obj, todo = attempt.app_pass.obj, attempt.todo
        finished = timestamp()
        listed = result.resources if result is not None else []
        # The result lists again the hooks that finished in this run; a resumed run's earlier ones not.
        seen = {_key_tuple(r.key) for r in listed}
        resources = [h.as_entry() for h in hooks if h.key not in seen]
        resources += [_result_entry(r.as_dict()) for r in listed]
        # A revision whose annotations cannot be read fails the same way every time: no retry.
        retry = retry and not (result is not None and result.spec_error)
        policy = retry_policy(todo.operation)
        if phase is not OperationPhase.succeeded and retry and policy.allows(todo.retry_count):
            count = todo.retry_count + 1
            delay = policy.delay(count)
            again = dataclasses.replace(attempt, todo=dataclasses.replace(todo, retry_count=count))
            note = f"Retrying attempt #{count} at {finished} (in {delay:g}s): {message}"
            state = _state(again, OperationPhase.running, note, resources, finished)
            event = (str(OperationEvent.sync_failed), note[:200], True)
            if attempt.defer:
                return Outcome(phase, retry_in=delay, changes={"operationState": state}, event=event)
            await self.put(obj, {"operationState": state})
            await self.status.event(obj, *event)
            return Outcome(phase, retry_in=delay)
        state = _state(attempt, phase, message, resources, finished)
        changes: dict[str, Any] = {"operationState": state}
        dry_run = bool(todo.sync.get("dryRun"))
        if phase is OperationPhase.succeeded and not dry_run:
            changes["history"] = _history(attempt, finished)
        if not attempt.defer:
            await self.put(obj, changes)
        metrics.record_sync(
            obj, str(phase), (parse_time(finished) - parse_time(todo.started_at)).total_seconds(), dry_run
        )
        if todo.requested:
            await self._clear_operation(obj, todo.operation)
        if phase is OperationPhase.succeeded:
            verb = "dry run of" if dry_run else "synced to"
            event = (str(OperationEvent.synced), f"{verb} {attempt.revision[:12]}", False)
        else:
            event = (str(OperationEvent.sync_failed), message[:200], True)
        if attempt.defer:
            return Outcome(phase, changes=changes, event=event)
        await self.status.event(obj, *event)
        return Outcome(phase)

    def _request(self, app_pass: AppPass, todo: Pending, rendered: Revisioned) -> SyncRequest:
        app = app_pass.app
        parsed = Operation.from_dict(todo.operation, "operation")
        sync = parsed.sync
        if sync is None:
            raise SpecError("operation: only sync operations exist; `operation.sync` is missing")
        app_options = app.spec.sync_policy.sync_options if app.spec.sync_policy else ()
        options = sync_options.parse([*app_options, *sync.sync_options])
        objects: list[dict[str, Any]] = rendered.objects
        if sync.resources:
            wanted = {(r.group, r.kind, r.namespace, r.name) for r in sync.resources}
            objects = [o for o in objects if _key_tuple(ResourceKey.of(o)) in wanted]
        objects = resume.without_done_hooks(objects, todo.done_hooks)
        automated = app.spec.automated
        return SyncRequest(
            app=tracking_app(app.namespace, app.name),
            objects=objects,
            namespace=app.spec.destination.namespace,
            options=options,
            # A partial sync never prunes: every object it leaves out would look like one to prune.
            prune=sync.prune and not sync.resources,
            dry_run=sync.dry_run,
            allow_empty=bool(automated and automated.allow_empty),
            ignore_rules=app_pass.rules,
            scope=app_pass.scope,
            # As Argo CD's: waves wait for each other's health, the last one is not waited for (a
            # slow rollout would hold the app, and any drift on it, for minutes). Its health is
            # reported as it changes (controller.health_watch).
            wait=False,
        )

    async def put(self, obj: dict[str, Any], changes: Mapping[str, Any]) -> None:
        """Write status fields (only if they changed) and keep `obj` as the cluster now has it."""
        status = {**(obj.get("status") or {}), **changes}
        await self.status.write(obj, status)
        obj["status"] = status

    async def _clear_operation(self, obj: dict[str, Any], done: Mapping[str, Any]) -> None:
        """Remove the request that just ended, and only that one: a JSON patch `test` leaves a new
        request someone made meanwhile in place (422) for the next pass to run."""
        metadata = obj["metadata"]
        body: list[dict[str, Any]] = [
            {"op": "test", "path": "/operation", "value": done},
            {"op": "remove", "path": "/operation"},
        ]
        try:
            answer = await self.writer.json_patch_at(
                self.resource.path(metadata["namespace"], metadata["name"]), body
            )
            self.status.wrote(answer)
        except KubeError as problem:
            if problem.code != 422:
                raise
            log.info("operation replaced while it ran; the new one runs next", app=metadata["name"])
            return
        obj.pop("operation", None)


def _one_burst(todo: Pending, objects: Sequence[Mapping[str, Any]]) -> bool:
    """An automated first attempt with no hooks and one wave: nothing a Running record would resume."""
    if todo.requested or todo.retry_count or todo.resumed or todo.done_hooks:
        return False
    return resume.one_burst(objects)


def _key_tuple(key: ResourceKey) -> tuple[str, str, str, str]:
    return (key.group, key.kind, key.namespace, key.name)


def _op_sources(obj: Mapping[str, Any], todo: Pending) -> dict[str, Any]:
    """The source(s) the operation deploys, as JSON: its own (a rollback's), else the spec's."""
    sync = todo.sync
    if sync.get("sources"):
        return {"sources": sync["sources"]}
    if sync.get("source"):
        return {"source": sync["source"]}
    return spec_sources(obj)


def _state(
    attempt: _Attempt,
    phase: OperationPhase,
    message: str,
    resources: Sequence[Mapping[str, Any]],
    finished_at: str = "",
) -> dict[str, Any]:
    """The operationState: the attempt's request, where it stands, and the resources it changed."""
    todo = attempt.todo
    state: dict[str, Any] = {
        "phase": str(phase),
        "message": message,
        "operation": dict(todo.operation),
        "startedAt": todo.started_at,
        "retryCount": todo.retry_count,
        "syncResult": {"revision": attempt.revision, **attempt.sources, "resources": list(resources)},
    }
    if finished_at:
        state["finishedAt"] = finished_at
    return state


def _running(attempt: _Attempt, message: str, done: Sequence[DoneHook]) -> dict[str, Any]:
    """The record of an attempt under way: the hooks it finished are what a resumed one skips."""
    return _state(attempt, OperationPhase.running, message, [h.as_entry() for h in done])


# Argo CD's ResourceResult fields, which the CRD's schema keeps. The engine's result also carries
# its diff (a created object's whole manifest), health and wave: sent along, the apiserver would
# decode them only to prune them, on every sync of every app.
_RESULT_FIELDS = frozenset(
    {"group", "version", "kind", "namespace", "name", "status", "message"}
    | {"syncPhase", "hookType", "hookPhase"}
)


def _result_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's result as the status keeps it: no nulls (the CRD schema has no nullable fields)."""
    return {k: v for k, v in entry.items() if v is not None and k in _RESULT_FIELDS}


def _history(attempt: _Attempt, finished: str) -> list[Any]:
    obj, todo = attempt.app_pass.obj, attempt.todo
    history = list((obj.get("status") or {}).get("history") or [])
    initiator = todo.operation.get("initiatedBy")
    entry: dict[str, Any] = {
        "id": 1 + max((int(h.get("id", 0)) for h in history), default=-1),
        "revision": attempt.revision,
        **attempt.sources,
        "deployStartedAt": todo.started_at,
        "deployedAt": finished,
    }
    if isinstance(initiator, Mapping) and initiator:
        entry["initiatedBy"] = dict(initiator)
    history.append(entry)
    return history[-max(1, attempt.app_pass.app.spec.revision_history_limit) :]
