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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller import metrics
from gitward.controller.operation_request import (
    RUNNING,
    Pending,
    Revisioned,
    parse_time,
    retry_policy,
    revision_of,
    spec_sources,
    timestamp,
)
from gitward.controller.status import AppResource, StatusWriter
from gitward.controller.triggers import tracking_app
from gitward.engine import options as sync_options
from gitward.engine.diff.compare import Comparer
from gitward.engine.diff.ignore import IgnoreRule
from gitward.engine.hooks import hook_of
from gitward.engine.sync import waits
from gitward.engine.sync.executor import Executor, HookOutcome
from gitward.engine.sync.operation import SyncOperation
from gitward.engine.sync.plan import wave_of
from gitward.engine.sync.prune import Scope
from gitward.engine.sync.result import OperationPhase, SyncRequest, SyncResult
from gitward.kube import KubeError, Writer
from gitward.kube.connection import Connection
from gitward.kube.store import Store
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.operation import Operation
from gitward.model.resource import TRACKING_ANNOTATION, ResourceKey
from gitward.model.sync import PlannedStep, SyncSpecError

log = structlog.get_logger(__name__)

__all__ = ["Operations", "Outcome", "without_done_hooks"]

# How long an adopted hook is waited for: as long as a sync waits for one (SyncRequest.timeout).
_HOOK_WAIT = 300.0


@dataclass(frozen=True)
class Outcome:
    phase: OperationPhase
    # Seconds until the next attempt when a retry is due; None when the operation has ended.
    retry_in: float | None = None
    # With `defer`: the status fields the end sets, for the caller's next status write, and the
    # Event (reason, message, warning) to post after it (notifications read the written status).
    changes: Mapping[str, Any] | None = None
    event: tuple[str, str, bool] | None = None


HookRecord = Callable[[PlannedStep, HookOutcome], Awaitable[None]]


class _RecordingExecutor(Executor):
    """The engine's executor, telling the operation about each hook as soon as it succeeds."""

    def __init__(self, base: Executor, record: HookRecord) -> None:
        super().__init__(base.writer, base.memo, timeout=base.timeout, progress=base.progress)
        self.record = record

    async def run_hook(self, step: PlannedStep) -> HookOutcome:
        outcome = await super().run_hook(step)
        if outcome.succeeded:
            await self.record(step, outcome)
        return outcome


class Operations:
    """Runs operations for the reconciler; one per cluster, shared by the workers."""

    def __init__(
        self,
        writer: Writer,
        comparer: Comparer,
        store: Store,
        status: StatusWriter,
        connection: Connection,
        resource: AppResource,
    ) -> None:
        self.writer = writer
        self.comparer = comparer
        self.store = store
        self.status = status
        self.connection = connection
        self.resource = resource

    async def run(
        self,
        obj: dict[str, Any],
        app: Application,
        todo: Pending,
        rendered: Revisioned,
        rules: Sequence[IgnoreRule],
        *,
        scope: Scope,
        defer: bool = False,
    ) -> Outcome:
        """Record Running, sync `rendered`, record the end (or the retry); `obj` follows what is written.

        `scope`: what the app's project lets its prune delete (a tracking id alone is not enough).
        `defer`: the end is not written but returned (Outcome.changes) for the caller's status write.
        """
        sources = _op_sources(obj, todo)
        results: list[dict[str, Any]] = [dict(r) for r in todo.done_hooks]
        attempt = f"attempt #{todo.retry_count + 1}" if todo.retry_count else "started"
        running = _state(todo, RUNNING, f"sync {attempt}", rendered.revision, sources, results)
        if not _one_burst(todo, rendered.objects):
            # Written before anything reaches the cluster: a crash from here on is resumed.
            await self.put(obj, {"operationState": running})
        try:
            adopted = await self._adopt_hooks(todo, rendered.objects, tracking_app(app.namespace, app.name))
            request = self._request(app, adopted, rendered, rules, scope)
        except (SyncSpecError, SpecError) as problem:
            return await self._end(
                obj, app, todo, rendered.revision, sources, OperationPhase.error, str(problem), defer=defer
            )
        if adopted is not todo:
            todo, results[:] = adopted, [dict(r) for r in adopted.done_hooks]
            state = _state(todo, RUNNING, f"sync {attempt}", rendered.revision, sources, list(results))
            await self.put(obj, {"operationState": state})
        lock = asyncio.Lock()

        async def record(step: PlannedStep, outcome: HookOutcome) -> None:
            name = outcome.name or step.key.name
            entry = _hook_entry(step.key, str(step.phase), str(step.hook), name, outcome.message)
            async with lock:
                results.append(entry)
                state = _state(todo, RUNNING, f"sync {attempt}", rendered.revision, sources, list(results))
                await self.put(obj, {"operationState": state})

        operation = SyncOperation(
            request,
            self.writer,
            comparer=self.comparer,
            live_objects=self.store.tracked_by(request.app),
            watched=self.comparer.live,
        )
        operation.executor = _RecordingExecutor(operation.executor, record)
        result = await operation.run()
        return await self._end(
            obj,
            app,
            todo,
            rendered.revision,
            sources,
            result.phase,
            result.message,
            result,
            results,
            defer=defer,
        )

    async def _adopt_hooks(self, todo: Pending, objects: Sequence[Mapping[str, Any]], owner: str) -> Pending:
        """Hooks the interrupted attempt had started: waited for, and counted as done if they succeed.

        A named hook of ours created since the operation started can only be that attempt's run;
        letting it finish (rather than replacing it) means an interrupted hook still runs once.
        """
        if not todo.resumed:
            return todo
        done = list(todo.done_hooks)
        before = len(done)
        for obj in objects:
            hook = hook_of(obj)
            key = ResourceKey.of(obj)
            if hook is None or len(hook.phases) != 1 or not key.name or any(_same_hook(obj, d) for d in done):
                continue
            live = await waits.read(self.writer, obj)
            metadata = (live or {}).get("metadata") or {}
            annotations = metadata.get("annotations") or {}
            ours = str(annotations.get(TRACKING_ANNOTATION, "")).partition(":")[0] == owner
            if live is None or not ours or str(metadata.get("creationTimestamp", "")) < todo.started_at:
                continue
            log.info("waiting for a hook the interrupted sync started", hook=str(key))
            finished, message = await waits.wait_finished(self.writer, live, timeout=_HOOK_WAIT)
            if finished:
                done.append(_hook_entry(key, str(hook.phases[0]), _hook_type(obj), key.name, message))
        return dataclasses.replace(todo, done_hooks=tuple(done)) if len(done) > before else todo

    async def cannot_start(
        self, obj: dict[str, Any], app: Application, todo: Pending, message: str
    ) -> Outcome:
        """The operation's revision could not be resolved or rendered: it ends (or retries) with Error."""
        revision = revision_of(todo)
        return await self._end(
            obj, app, todo, revision, _op_sources(obj, todo), OperationPhase.error, message
        )

    async def abandon(self, obj: dict[str, Any], app: Application, todo: Pending, message: str) -> Outcome:
        """End the operation as Failed without running it (a closed sync window, a newer revision)."""
        revision = revision_of(todo)
        sources = _op_sources(obj, todo)
        return await self._end(obj, app, todo, revision, sources, OperationPhase.failed, message, retry=False)

    async def _end(
        self,
        obj: dict[str, Any],
        app: Application,
        todo: Pending,
        revision: str,
        sources: dict[str, Any],
        phase: OperationPhase,
        message: str,
        result: SyncResult | None = None,
        hooks: Sequence[Mapping[str, Any]] = (),
        *,
        retry: bool = True,
        defer: bool = False,
    ) -> Outcome:
        finished = timestamp()
        resources = [dict(h) for h in hooks if h.get("hookPhase") == "Succeeded"]
        if result is not None:
            seen = {(r.key.group, r.key.kind, r.key.namespace, r.key.name) for r in result.resources}
            resources = [
                r for r in resources if (r["group"], r["kind"], r["namespace"], r["name"]) not in seen
            ]
            resources += [_result_entry(r.as_dict()) for r in result.resources]
        # A revision whose annotations cannot be read fails the same way every time: no retry.
        retry = retry and not (result is not None and result.spec_error)
        policy = retry_policy(todo.operation)
        if phase is not OperationPhase.succeeded and retry and policy.allows(todo.retry_count):
            count = todo.retry_count + 1
            delay = policy.delay(count)
            again = dataclasses.replace(todo, retry_count=count)
            note = f"Retrying attempt #{count} at {finished} (in {delay:g}s): {message}"
            state = _state(again, RUNNING, note, revision, sources, resources, finished)
            event = ("SyncFailed", note[:200], True)
            if defer:
                return Outcome(phase, retry_in=delay, changes={"operationState": state}, event=event)
            await self.put(obj, {"operationState": state})
            await self.status.event(obj, *event)
            return Outcome(phase, retry_in=delay)
        state = _state(todo, str(phase), message, revision, sources, resources, finished)
        changes: dict[str, Any] = {"operationState": state}
        dry_run = bool(todo.sync.get("dryRun"))
        if phase is OperationPhase.succeeded and not dry_run:
            changes["history"] = _history(obj, app, todo, revision, sources, finished)
        if not defer:
            await self.put(obj, changes)
        metrics.record_sync(
            obj, str(phase), (parse_time(finished) - parse_time(todo.started_at)).total_seconds(), dry_run
        )
        if todo.requested:
            await self._clear_operation(obj, todo.operation)
        if phase is OperationPhase.succeeded:
            verb = "dry run of" if dry_run else "synced to"
            event = ("Synced", f"{verb} {revision[:12]}", False)
        else:
            event = ("SyncFailed", message[:200], True)
        if defer:
            return Outcome(phase, changes=changes, event=event)
        await self.status.event(obj, *event)
        return Outcome(phase)

    def _request(
        self,
        app: Application,
        todo: Pending,
        rendered: Revisioned,
        rules: Sequence[IgnoreRule],
        scope: Scope,
    ) -> SyncRequest:
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
        objects = without_done_hooks(objects, todo.done_hooks)
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
            ignore_rules=rules,
            scope=scope,
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
    try:
        waves = {wave_of(obj) for obj in objects}
    except SyncSpecError:
        return False  # the sync refuses it and says why; recorded as any other
    return len(waves) <= 1 and not any(hook_of(obj) is not None for obj in objects)


def without_done_hooks(
    objects: Sequence[dict[str, Any]], done: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The objects minus the hooks that already finished in every phase they run in."""
    if not done:
        return list(objects)
    kept = []
    for obj in objects:
        hook = hook_of(obj)
        phases = {str(p) for p in hook.phases} if hook is not None else set()
        finished = {str(d.get("syncPhase")) for d in done if _same_hook(obj, d)}
        if not phases or not phases <= finished:
            kept.append(obj)
    return kept


def _same_hook(obj: Mapping[str, Any], done: Mapping[str, Any]) -> bool:
    key = ResourceKey.of(obj)
    if (key.group, key.kind, key.namespace) != (done.get("group"), done.get("kind"), done.get("namespace")):
        return False
    if key.name:
        return bool(key.name == done.get("name"))
    prefix = str((obj.get("metadata") or {}).get("generateName") or "")
    return bool(prefix) and str(done.get("name", "")).startswith(prefix)


def _hook_entry(key: ResourceKey, phase: str, hook_type: str, name: str, message: str) -> dict[str, Any]:
    """A finished hook as syncResult.resources lists it (what a resumed sync skips)."""
    return {
        "group": key.group,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": name,
        "status": "Synced",
        "message": message,
        "syncPhase": phase,
        "hookType": hook_type,
        "hookPhase": "Succeeded",
    }


def _hook_type(obj: Mapping[str, Any]) -> str:
    hook = hook_of(obj)
    types = sorted(str(t) for t in hook.types) if hook is not None else []
    return types[0] if len(types) == 1 else ",".join(types)


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
    todo: Pending,
    phase: str,
    message: str,
    revision: str,
    sources: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    finished_at: str = "",
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "phase": phase,
        "message": message,
        "operation": dict(todo.operation),
        "startedAt": todo.started_at,
        "retryCount": todo.retry_count,
        "syncResult": {"revision": revision, **sources, "resources": list(resources)},
    }
    if finished_at:
        state["finishedAt"] = finished_at
    return state


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


def _history(
    obj: Mapping[str, Any],
    app: Application,
    todo: Pending,
    revision: str,
    sources: Mapping[str, Any],
    finished: str,
) -> list[Any]:
    history = list((obj.get("status") or {}).get("history") or [])
    initiator = todo.operation.get("initiatedBy")
    entry: dict[str, Any] = {
        "id": 1 + max((int(h.get("id", 0)) for h in history), default=-1),
        "revision": revision,
        **sources,
        "deployStartedAt": todo.started_at,
        "deployedAt": finished,
    }
    if isinstance(initiator, Mapping) and initiator:
        entry["initiatedBy"] = dict(initiator)
    history.append(entry)
    return history[-max(1, app.spec.revision_history_limit) :]
