"""One sync operation: make the cluster hold a revision's objects, wave by wave, then prune.

The order of events:
1. prepare: default the destination namespace, stamp tracking ids, plan;
2. validate: every object is compared with the cluster through a
   server-side dry run (or found unchanged by the memo); if the server
   refuses any of them, nothing is written and the error names each one;
3. apply: CreateNamespace, then each wave (PreSync hooks, Sync waves,
   PostSync hooks) concurrently within the wave, skipping what is already
   in sync, and waiting for the wave's health before the next one;
   pruning runs after the Sync phase (PruneLast objects after the others);
4. on a failure, SyncFail hooks run and the sync is Failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gitward.engine import options as sync_options
from gitward.engine import tracking
from gitward.engine.diff.applied import AppliedMemo, known_unchanged
from gitward.engine.diff.compare import Comparer, Comparison, defined_kinds, with_namespace
from gitward.engine.diff.ignore import IgnoreRuleError
from gitward.engine.diff.respect import respect_plan
from gitward.engine.health.assess import aggregate
from gitward.engine.sync import plan as planner
from gitward.engine.sync import waits
from gitward.engine.sync.executor import Executor, StepFailed, immutable_fields, refusal
from gitward.engine.sync.inventory import tracked_by
from gitward.engine.sync.live import LiveRecorder, Watched
from gitward.engine.sync.prune import interleave, prune_plan
from gitward.engine.sync.result import ResourceResult, SyncRequest, SyncResult
from gitward.engine.sync.resume import DoneHook, HookFinished
from gitward.kube import KubeError, Propagation, UnknownKind, Writer
from gitward.model.health import Health, HealthStatus
from gitward.model.resource import ResourceKey
from gitward.model.status import OperationPhase, ResultCode, SyncStatusCode
from gitward.model.sync import (
    EffectiveOptions,
    Phase,
    Plan,
    PlannedStep,
    PropagationPolicy,
    PrunePlan,
    PruneStep,
    SharedResourceError,
    SyncSpecError,
    Wave,
)

__all__ = ["PARALLELISM", "SyncOperation", "SyncRequest", "SyncResult", "sync"]

PARALLELISM = 20  # Argo CD's default for applies within a wave
# How the comparer says an object's resourceVersion moved under each of its dry runs.
CHURN = "kept changing while being compared"
_WRITES = ("PATCH", "POST", "PUT", "DELETE")


class _Failure(Exception):
    """Ends the waves: the sync is Failed with this message."""


class SyncOperation:
    """Runs one request; `run` never raises for a problem the user should read in the result."""

    def __init__(
        self,
        request: SyncRequest,
        writer: Writer,
        *,
        comparer: Comparer | None = None,
        memo: AppliedMemo | None = None,
        live_objects: Sequence[Mapping[str, Any]] | None = None,
        watched: Watched | None = None,
        progress: Callable[[str], None] | None = None,
        parallelism: int = PARALLELISM,
        on_hook: HookFinished | None = None,
    ) -> None:
        self.request = request
        self.writer = writer
        self.live = LiveRecorder(writer, watched)
        # A comparer shared between syncs keeps its dry-run cache; one of our own reads through `self.live`.
        self.comparer = comparer if comparer is not None else Comparer(writer, self.live)
        self.memo = memo if memo is not None else AppliedMemo()
        self.tracked = live_objects
        self.progress = progress
        self.on_hook = on_hook
        self.executor = Executor(writer, self.memo, timeout=request.timeout, progress=progress)
        self.limit = asyncio.Semaphore(parallelism)
        self.results: dict[tuple[ResourceKey, Phase | None], ResourceResult] = {}
        self.comparisons: dict[ResourceKey, Comparison] = {}
        self.current: dict[ResourceKey, Mapping[str, Any]] = {}
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []
        # Namespaces this sync creates: objects in them cannot be dry-run before they exist.
        self.creating: set[str] = set()

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)

    def _clock(self, stage: str, since: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - since

    async def run(self) -> SyncResult:
        started_at, started = _now(), time.perf_counter()
        writes_before = _writes(self.writer)
        dry_before = self.comparer.dry_runs
        spec_error = False
        try:
            phase, message = await self._run()
        except (SyncSpecError, IgnoreRuleError) as exc:
            phase, message, spec_error = OperationPhase.error, str(exc), True
        except KubeError as exc:
            phase, message = OperationPhase.error, str(exc)
        written = _writes(self.writer) - writes_before
        written -= (self.comparer.dry_runs - dry_before) + self.executor.dry_runs
        resources = sorted(self.results.values(), key=_result_order)
        health = aggregate(
            (self.current[r.key], r.health) for r in resources if r.hook is None and r.key in self.current
        )
        return SyncResult(
            app=self.request.app,
            phase=phase,
            message=message,
            resources=resources,
            health=health,
            started_at=started_at,
            finished_at=_now(),
            seconds=time.perf_counter() - started,
            timings=self.timings,
            writes=written,
            dry_run=self.request.dry_run,
            warnings=self.warnings,
            spec_error=spec_error,
        )

    async def _run(self) -> tuple[OperationPhase, str]:
        request = self.request
        since = time.perf_counter()
        the_plan, app_options = await self._prepare()
        await self.live.prefetch(step.obj for step in the_plan.steps if not step.is_hook)
        the_plan = await respect_plan(the_plan, self.live.get, request.ignore_rules)
        self._clock("prepare", since)
        since = time.perf_counter()
        refused = await self._validate(the_plan)
        self._clock("validate", since)
        if refused:
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            return (
                OperationPhase.failed,
                f"the revision was refused before any write; nothing was applied: {refused[0]}{more}",
            )
        pruning = await self._prune_plan(the_plan)
        if request.dry_run:
            self._report_dry_run(the_plan, pruning)
            return OperationPhase.succeeded, "dry run: nothing was written"
        if app_options.create_namespace:
            await self._create_namespace()
        try:
            await self._waves(the_plan, pruning)
        except _Failure as failure:
            await self._sync_fail(the_plan)
            return OperationPhase.failed, str(failure)
        return OperationPhase.succeeded, "successfully synced (all tasks run)"

    async def _prepare(self) -> tuple[Plan, EffectiveOptions]:
        request = self.request
        app_options = sync_options.effective(request.options)
        objects = await with_namespace(request.objects, request.namespace, self.writer.discovery)
        stamped = [tracking.stamp(obj, request.app) if ResourceKey.of(obj).name else obj for obj in objects]
        the_plan = planner.plan(stamped, request.options)
        for ignored in the_plan.ignored:
            self.warnings.append(f"{ignored.key}: {ignored.reason}")
        return the_plan, app_options

    async def _validate(self, the_plan: Plan) -> list[str]:
        """Dry-run every object before any write; the refusals, each naming its object."""
        pending = defined_kinds(step.obj for step in the_plan.steps)
        app_options = sync_options.effective(self.request.options)
        out_of_sync_only = app_options.apply_out_of_sync_only
        self.creating = {s.key.name for s in the_plan.steps if s.key.kind == "Namespace" and not s.key.group}
        if app_options.create_namespace:
            self.creating.add(self.request.namespace)
        rules = self.request.ignore_rules if out_of_sync_only else ()

        async def check(step: PlannedStep) -> str | None:
            if step.is_hook:
                return await self._validate_hook(step)
            async with self.limit:
                live = await self.live.get(step.obj)
            # Replace=true makes the object exactly the manifest, dropping what others added; the
            # apply-based proofs and the comparer predict an apply, which keeps those fields.
            replaces = step.options.replace and not out_of_sync_only
            if not replaces and known_unchanged(self.memo, step, live, self.writer.field_manager):
                self.comparisons[step.key] = Comparison(step.key, SyncStatusCode.synced)
                return None
            if live is None:
                comparison = await self._validate_create(step, pending)
            else:
                client_side = not step.options.server_side_apply
                comparison = await self.comparer.compare(step.obj, rules, pending, client_side=client_side)
                if comparison.error is not None and CHURN in comparison.error:
                    # Its dry runs passed; only the diff could not be pinned down while controllers
                    # write its status (a rollout in progress). Applying it is still safe.
                    comparison = Comparison(step.key, SyncStatusCode.out_of_sync)
            if replaces and comparison.status == SyncStatusCode.synced:
                comparison = Comparison(step.key, SyncStatusCode.out_of_sync)
            self.comparisons[step.key] = comparison
            if comparison.error is None:
                if comparison.status == SyncStatusCode.synced and live is not None:
                    self.memo.remember(step.obj, live)
                return None
            if immutable_fields(comparison.error) and step.options.force:
                return None  # the apply will delete and re-create it
            message = refusal(step.key, comparison.error, step.options)
            self._record(step, ResultCode.sync_failed, message)
            return message

        found = await asyncio.gather(*(check(step) for step in the_plan.steps))
        refused = [message for message in found if message]
        seen = [obj for obj in self.live.seen.values() if obj is not None]
        shared = tracking.claimed_elsewhere(self.request.app, (s.key for s in the_plan.steps), seen)
        for key, other in shared.items():
            self.warnings.append(f"{key}: also tracked by app {other}; this sync takes it over")
        try:
            tracking.refuse_shared(shared, fail_on_shared_resource=app_options.fail_on_shared_resource)
        except SharedResourceError as exc:
            refused.append(str(exc))
        if refused:
            for step in the_plan.steps:
                if (step.key, step.phase) not in self.results:
                    self._record(
                        step,
                        ResultCode.sync_failed,
                        "not applied: another object of the revision was refused",
                    )
        return refused

    async def _validate_create(self, step: PlannedStep, pending: frozenset[tuple[str, str]]) -> Comparison:
        """A dry run of an object that does not exist yet; its diff would only repeat the manifest."""
        created = Comparison(step.key, SyncStatusCode.out_of_sync, would_create=True)
        async with self.limit:
            self.executor.dry_runs += 1
            try:
                await self.writer.apply(step.obj, force=True, dry_run=True, strict=step.options.validate)
            except UnknownKind as exc:
                return (
                    created
                    if (step.key.group, step.key.kind) in pending
                    else Comparison(step.key, None, error=str(exc))
                )
            except KubeError as exc:
                if exc.not_found and step.key.namespace in self.creating:
                    return created  # its namespace is created by this sync, before it
                return Comparison(step.key, None, error=exc.message)
        return created

    async def _validate_hook(self, step: PlannedStep) -> str | None:
        try:
            if step.key.name:
                if await self.live.get(step.obj) is not None:
                    return None  # its previous run is replaced when it runs; a dry run now would clash
                self.executor.dry_runs += 1
                await self.writer.apply(step.obj, force=True, dry_run=True, strict=step.options.validate)
            else:
                await self.executor.create(step.obj, strict=step.options.validate, dry_run=True)
        except KubeError as exc:
            if exc.not_found and step.key.namespace in self.creating:
                return None  # its namespace is created by this sync, before it
            message = refusal(step.key, exc.message, step.options)
            self._record(step, ResultCode.sync_failed, message)
            return message
        return None

    async def _prune_plan(self, the_plan: Plan) -> PrunePlan:
        if not self.request.prune:
            return PrunePlan()
        live = self.tracked
        if live is None:
            live = await tracked_by(self.request.app, self.writer.connection, self.writer.discovery)
        desired = {step.key for step in the_plan.steps} | {i.key for i in the_plan.ignored}
        decided = prune_plan(
            self.request.app,
            desired,
            live,
            self.request.options,
            allow_empty=self.request.allow_empty,
            scope=self.request.scope,
        )
        for kept in (*decided.kept, *decided.outside):
            self.results[(kept.key, None)] = ResourceResult(kept.key, ResultCode.prune_skipped, kept.reason)
        for foreign in decided.outside:
            self.warnings.append(f"{foreign.key}: {foreign.reason}")
        for key in decided.shared:
            self.warnings.append(f"{key}: also declared by another app; not pruned")
        return decided

    def _report_dry_run(self, the_plan: Plan, pruning: PrunePlan) -> None:
        for step in the_plan.steps:
            comparison = self.comparisons.get(step.key)
            if step.is_hook:
                message = "(dry run) hook would run"
            elif comparison is not None and comparison.status == SyncStatusCode.synced:
                message = "(dry run) unchanged"
            else:
                created = comparison is None or comparison.would_create
                message = "(dry run) would be created" if created else "(dry run) would be updated"
            self._record(step, ResultCode.synced, message, diff=comparison.diff if comparison else "")
        for prune_step in pruning.steps:
            self.results[(prune_step.key, None)] = ResourceResult(
                prune_step.key, ResultCode.pruned, "(dry run) would be pruned"
            )

    async def _create_namespace(self) -> None:
        namespace = self.request.namespace
        existing = await self.writer.get("v1", "Namespace", namespace)
        if existing is None:
            self._say(f"creating namespace {namespace}")
            await self.writer.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )

    async def _waves(self, the_plan: Plan, pruning: PrunePlan) -> None:
        stages = interleave(the_plan.waves, pruning)
        for index, stage in enumerate(stages):
            if not isinstance(stage, Wave):
                await self._prune(stage)
                continue
            await self._wave(stage)
            if index + 1 < len(stages):
                await self._wait(stage, fail=True)
            elif self.request.wait:
                # The last wave's health is the app's health, not a failed sync (exit code 3 in the CLI).
                await self._wait(stage, fail=False)

    async def _wave(self, wave: Wave) -> None:
        since = time.perf_counter()
        self._say(f"{wave.phase} wave {wave.number}: {len(wave.steps)} object(s)")
        outcomes = await asyncio.gather(*(self._step(step) for step in wave.steps))
        self._clock("hooks" if all(s.is_hook for s in wave.steps) else "apply", since)
        failures = [message for message in outcomes if message]
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise _Failure(f"{wave.phase} wave {wave.number}: {failures[0]}{more}")

    async def _step(self, step: PlannedStep) -> str | None:
        async with self.limit:
            if step.is_hook:
                outcome = await self.executor.run_hook(step)
                code = ResultCode.synced if outcome.succeeded else ResultCode.sync_failed
                result = self._record(step, code, outcome.message, written=True)
                result.hook_phase = outcome.phase
                if outcome.name and outcome.name != step.key.name:
                    result.key = ResourceKey(step.key.group, step.key.kind, step.key.namespace, outcome.name)
                if outcome.succeeded and self.on_hook is not None:
                    await self.on_hook(DoneHook.ran(result.key, step, outcome.message))
                return None if outcome.succeeded else f"hook {result.key} {outcome.phase}: {outcome.message}"
            comparison = self.comparisons.get(step.key)
            live = self.live.seen.get(step.key)
            diff = comparison.diff if comparison is not None else ""
            if comparison is not None and comparison.status == SyncStatusCode.synced and live is not None:
                self.current[step.key] = live
                self._record(
                    step, ResultCode.synced, "unchanged", health=waits.judge(live, self.request.health_rules)
                )
                return None
            try:
                stored = await self.executor.apply(step, live)
            except (StepFailed, KubeError) as exc:
                self._record(step, ResultCode.sync_failed, str(exc), diff=diff)
                return str(exc)
            self.current[step.key] = stored
            if step.options.server_side_apply and not step.options.replace:
                self.comparer.applied(step.obj, stored)
            verb = "created" if live is None else "configured"
            health = waits.judge(stored, self.request.health_rules)
            self._record(step, ResultCode.synced, verb, diff=diff, written=True, health=health)
            return None

    async def _wait(self, wave: Wave, *, fail: bool) -> None:
        watched = [self.current[s.key] for s in wave.steps if not s.is_hook and s.key in self.current]
        if not watched:
            return
        since = time.perf_counter()
        verdicts = await waits.wait_healthy(
            self.writer,
            watched,
            timeout=self.request.timeout,
            rules=self.request.health_rules,
            progress=self.progress,
        )
        self._clock("wait", since)
        problems: list[str] = []
        for verdict in verdicts:
            result = self.results.get((verdict.key, wave.phase))
            if result is not None:
                result.health = verdict.health
            if verdict.live is not None:
                self.current[verdict.key] = verdict.live
            if verdict.health is None or verdict.health.status in waits.SETTLED:
                continue
            if verdict.health.status is HealthStatus.degraded:
                problems.insert(0, f"{verdict.key} is {verdict.health.status}: {verdict.health.message}")
            else:
                problems.append(
                    f"{verdict.key} is still {verdict.health.status} after {self.request.timeout:g}s"
                    + (f": {verdict.health.message}" if verdict.health.message else "")
                )
        if problems and fail:
            raise _Failure(f"{wave.phase} wave {wave.number}: {problems[0]}")
        if problems:
            self.warnings.append(problems[0])

    async def _prune(self, group: Sequence[PruneStep]) -> None:
        since = time.perf_counter()
        self._say(f"pruning {len(group)} object(s) of wave {group[0].wave}")
        await asyncio.gather(*(self._prune_one(step.key, step.uid, step.propagation) for step in group))
        self._clock("prune", since)

    async def _prune_one(self, key: ResourceKey, uid: str | None, propagation: PropagationPolicy) -> None:
        resource = await self.writer.discovery.preferred(key.group, key.kind)
        ref = {
            "apiVersion": resource.api_version,
            "kind": key.kind,
            "metadata": {"name": key.name, "namespace": key.namespace},
        }
        async with self.limit:
            try:
                await self.executor.delete(ref, uid=uid, propagation=Propagation(str(propagation)))
            except KubeError as exc:
                # 409: the uid precondition failed, so this is a new object under the old name.
                reason = "re-created since it was listed; left alone" if exc.code == 409 else exc.message
                self.results[(key, None)] = ResourceResult(key, ResultCode.prune_skipped, reason)
                return
            gone = await waits.wait_gone(self.writer, ref, uid=uid, timeout=self.request.timeout)
        self.memo.forget(key)
        message = "pruned" if gone else "deletion requested; still terminating"
        self.results[(key, None)] = ResourceResult(key, ResultCode.pruned, message, written=True)

    async def _sync_fail(self, the_plan: Plan) -> None:
        for wave in the_plan.sync_fail:
            self._say(f"SyncFail wave {wave.number}: {len(wave.steps)} hook(s)")
            await asyncio.gather(*(self._step(step) for step in wave.steps))

    def _record(
        self,
        step: PlannedStep,
        code: ResultCode,
        message: str,
        *,
        diff: str = "",
        written: bool = False,
        health: Health | None = None,
    ) -> ResourceResult:
        result = ResourceResult(
            step.key,
            code,
            message,
            phase=step.phase,
            wave=step.wave,
            hook=step.hook,
            health=health,
            diff=diff,
            written=written,
        )
        self.results[(step.key, step.phase)] = result
        return result


async def sync(request: SyncRequest, writer: Writer, **kwargs: Any) -> SyncResult:
    """Run one sync; see SyncOperation for the keyword arguments (comparer, memo, progress...)."""
    return await SyncOperation(request, writer, **kwargs).run()


def _writes(writer: Writer) -> int:
    return sum(writer.connection.requests.get(method, 0) for method in _WRITES)


def _result_order(result: ResourceResult) -> tuple[int, int, ResourceKey]:
    rank = result.phase.rank if result.phase is not None else len(Phase)
    return (rank, result.wave, result.key)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
