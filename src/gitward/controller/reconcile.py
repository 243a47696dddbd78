"""One reconcile of one Application: Git revision -> rendered objects -> compare -> sync -> status.

Bad input never costs the cluster anything: an unreadable spec, an
unreachable repository or a revision that does not render stops the pass
before any write, sets a condition naming the cause (file:line:col for
malformed YAML), and leaves what the last good revision deployed alone.
Operations (requested, automated, resumed after a crash, retried) are run
by gitward.controller.operation; this module decides when, and reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller import operation_request as records
from gitward.controller.health_rules import HealthRuleSource
from gitward.controller.operation import AppPass, Operations
from gitward.controller.operation_request import Pending
from gitward.controller.projects import ProjectRefused, Projects, is_manual, window_condition
from gitward.controller.rewrites import history_rewritten
from gitward.controller.status import StatusWriter
from gitward.engine import options as sync_options
from gitward.engine.desired import DesiredState, Revisioned
from gitward.engine.diff.compare import Comparer, Comparison
from gitward.engine.diff.ignore import IgnoreRuleError, load_rules
from gitward.engine.health.assess import HealthRules, aggregate, assess
from gitward.engine.project_policy import DEFAULT_PROJECT
from gitward.engine.sync.operation import sync
from gitward.engine.sync.prune import Scope, partition, report
from gitward.engine.sync.result import SyncRequest
from gitward.engine.tracking import tracking_app
from gitward.kube import KubeError, WatchCache, Writer
from gitward.kube.connection import Connection
from gitward.model.application import FINALIZERS, IN_CLUSTER, Application, AppResource
from gitward.model.fields import SpecError
from gitward.model.health import HealthStatus
from gitward.model.resource import ResourceKey
from gitward.model.status import ConditionType, OperationPhase, SyncStatusCode
from gitward.render import ValidationFailed
from gitward.render.tools import RenderError
from gitward.source import SourceError

log = structlog.get_logger(__name__)

__all__ = ["Reconciler"]


@dataclass(frozen=True, eq=False)
class Reconciler:
    """Shared by every worker; one per cluster it serves (built by gitward.controller.wiring)."""

    connection: Connection
    cache: WatchCache
    writer: Writer
    comparer: Comparer
    desired: DesiredState
    namespace: str
    resource: AppResource
    status: StatusWriter
    projects: Projects
    health_rules: HealthRuleSource
    operations: Operations

    async def reconcile(self, name: str) -> float | None:
        """One pass; the seconds until the app must be looked at again (a sync retry), or None."""
        obj = await self._get(name)
        if obj is None:
            return None
        if obj["metadata"].get("deletionTimestamp"):
            await self._finalize(obj)
            return None
        try:
            # The operation (also in status.operationState) is read by controller.operation_request:
            # a malformed request fails as an operation and is cleared; it never blocks the app.
            app = Application.from_dict({k: v for k, v in obj.items() if k not in ("operation", "status")})
            # The model checked the entries' shape; the engine compiles their pointers and jq.
            rules = load_rules(obj["spec"].get("ignoreDifferences") or [], "spec.ignoreDifferences")
        except (SpecError, IgnoreRuleError, ValueError) as problem:
            await self._fail(obj, ConditionType.invalid_spec_error, str(problem))
            return None
        destination = app.spec.destination
        if destination.server not in ("", IN_CLUSTER) or destination.name not in ("", "in-cluster"):
            elsewhere = "only the cluster gitward runs in is supported so far"
            await self._fail(obj, ConditionType.invalid_spec_error, elsewhere)
            return None
        try:
            project = await self.projects.check_spec(app)
        except ProjectRefused as refused:
            await self._fail(obj, ConditionType.invalid_spec_error, str(refused))
            return None
        refresh = records.refresh_requested(obj)
        try:
            return await self._pass(AppPass(obj, app, project, rules), refresh)
        finally:
            if refresh is not None:
                await self._clear_refresh(obj)

    async def _pass(self, app_pass: AppPass, refresh: str | None) -> float | None:
        obj, app, project = app_pass.obj, app_pass.app, app_pass.project
        rendered: Revisioned | None = None
        problem: tuple[ConditionType, str] | None = None
        unreachable: SourceError | None = None
        try:
            rendered = await self.desired.render(app, fresh=refresh is not None, hard=refresh == "hard")
            # One object the project does not permit refuses the whole revision: nothing is applied.
            await self.projects.check_objects(project, app, rendered.objects)
        except SourceError as exc:
            problem, unreachable = (ConditionType.comparison_error, str(exc)), exc
        except ValidationFailed as failure:
            problem = (ConditionType.comparison_error, _problems(failure))
        except RenderError as exc:
            problem = (ConditionType.comparison_error, str(exc))
        except ProjectRefused as refused:
            problem, rendered = (ConditionType.sync_error, str(refused)), None
        todo = records.pending(obj)
        if todo is not None and rendered is not None and _superseded(todo, rendered):
            await self.operations.abandon(app_pass, todo, f"superseded by revision {rendered.revision[:12]}")
            todo = None
        retry_in = await self._operate(app_pass, todo, rendered, problem) if todo else None
        if problem is not None or rendered is None:
            await self._fail(obj, *(problem or (ConditionType.comparison_error, "nothing rendered")))
            if unreachable is not None:
                raise unreachable  # retried with backoff: the server may come back
            return retry_in
        later = await self._compare_and_sync(app_pass, rendered, busy=todo is not None)
        return retry_in if retry_in is not None else later

    async def _operate(
        self,
        app_pass: AppPass,
        todo: Pending,
        rendered: Revisioned | None,
        problem: tuple[ConditionType, str] | None,
    ) -> float | None:
        """Run a requested or unfinished operation; the seconds until its next attempt, if one is due."""
        obj, app, project = app_pass.obj, app_pass.app, app_pass.project
        gate = self.projects.gate(project, app, manual=is_manual(todo.operation))
        if not gate.allowed:
            if todo.requested:  # refused, not queued: the person asking learns it now
                await self.operations.abandon(app_pass, todo, gate.message)
            return None
        if todo.wait > 0:
            return todo.wait
        try:
            pinned = records.pinned_sources(app, todo)
            target = rendered if pinned is None else await self.desired.render(app, pinned)
            if target is None:
                raise RenderError(problem[1] if problem else "the target revision did not render")
            if pinned is not None:
                await self.projects.check_objects(project, app, target.objects)
        except ValidationFailed as failure:
            return (await self.operations.cannot_start(app_pass, todo, _problems(failure))).retry_in
        except (SpecError, SourceError, RenderError, ProjectRefused) as exc:
            return (await self.operations.cannot_start(app_pass, todo, str(exc))).retry_in
        # Prune reads the watch cache: every kind the app declares or deployed must be watched
        # first. A restarted controller resuming a sync has watched nothing yet, and pruned nothing.
        await self.cache.ensure_all(_kinds(target.objects, obj))
        return (await self.operations.run(app_pass, todo, target)).retry_in

    async def _get(self, name: str) -> dict[str, Any] | None:
        """The app from the watch cache, unless the cache has not yet seen our own last write of it."""
        cached = self.cache.store.get(ResourceKey(self.resource.group, "Application", self.namespace, name))
        if cached is not None and self.status.current(cached):
            # A pass replaces (never edits) status, operation and annotations: a shallow copy will do.
            return {**cached, "metadata": dict(cached["metadata"])}
        if cached is None and self.cache.listed(self.resource.group, "Application"):
            # Deleted (a restart meets many objects whose app is gone), or so new that the watch
            # has not shown it yet: its ADDED event enqueues it again.
            return None
        try:
            found: dict[str, Any] = await self.connection.request(
                "GET", self.resource.path(self.namespace, name)
            )
        except KubeError as problem:
            if problem.not_found:
                return None
            raise
        return found

    async def _compare_and_sync(self, app_pass: AppPass, rendered: Revisioned, *, busy: bool) -> float | None:
        """Compare, sync when automation says so (not while another operation is `busy`), report."""
        obj, app, project, rules = app_pass.obj, app_pass.app, app_pass.project, app_pass.rules
        # Watch every kind the app declares now or deployed before: drift in either must wake us,
        # and prune needs the live copies of kinds that have left Git.
        await self.cache.ensure_all(_kinds(rendered.objects, obj))
        owner = tracking_app(app.namespace, app.name)
        # ServerSideApply=false changes what a sync would remove, so the prediction follows it.
        options = sync_options.readable(app.spec.sync_policy.sync_options if app.spec.sync_policy else ())
        comparisons = await self.comparer.compare_all(rendered.objects, rules, app=owner, options=options)
        desired = {c.key for c in comparisons}
        scope = app_pass.scope
        # Only what the project lets the app manage is its own: an object elsewhere carrying its
        # tracking id is reported, never counted as drift (a sync would not prune it anyway).
        # An object on its way out (a prune's foreground delete waits for the garbage collector;
        # the watch may not have shown our delete yet) is not drift: counted as such, it set off a
        # second sync after a prune (its hooks run again, a second history entry), and one after
        # another while a finalizer held the object.
        unwanted = (
            o
            for o in self.cache.store.tracked_by(owner)
            if ResourceKey.of(o) not in desired and not self.writer.deleting(o)
        )
        extra, outside = partition(owner, unwanted, scope)
        in_sync = all(c.status == SyncStatusCode.synced for c in comparisons) and not extra
        request, conditions = records.automated_request(obj, app, rendered, in_sync)
        if outside:
            found = records.condition(ConditionType.resource_outside_project_warning, report(outside))
            conditions = [*conditions, found]
        if failed := [f"{c.key}: {c.error}" for c in comparisons if c.error]:
            # Not comparable (a jq rule stopped at its deadline, a refused dry run): say so on this app.
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            conditions = [*conditions, records.condition(ConditionType.comparison_error, failed[0] + more)]
        if request is not None and (held := await history_rewritten(self.desired.repos, obj, app, rendered)):
            request, conditions = None, [*conditions, held]
        retry_in: float | None = None
        ended: Mapping[str, Any] = {}
        event: tuple[str, str, bool] | None = None
        if request is not None and not busy:
            gate = self.projects.gate(project, app, manual=False)
            if gate.allowed:
                todo = Pending(request, requested=False, started_at=records.timestamp())
                # Its end is written with this pass's status: one write of the app instead of two.
                outcome = await self.operations.run(app_pass, todo, rendered, defer=True)
                ended, event = outcome.changes or {}, outcome.event
                retry_in = outcome.retry_in
                if outcome.phase is OperationPhase.succeeded:
                    try:
                        comparisons = await self.comparer.compare_all(
                            rendered.objects, rules, app=owner, options=options
                        )
                    except Exception:
                        # The sync happened: its record must stay. (Cancelled, the pass is cut off
                        # like a crash: the next pass compares and finds nothing left to do.)
                        await self._ended(obj, ended, event)
                        raise
                    in_sync = all(c.status == SyncStatusCode.synced for c in comparisons)
            else:
                conditions.append(window_condition(obj.get("status") or {}, gate.message, _now()))
        elif not in_sync:
            # Which objects differ: the first question anyone asks of an app that will not settle.
            differing = [f"{c.key}={c.status}" for c in comparisons if c.status != SyncStatusCode.synced]
            differing += [str(ResourceKey.of(o)) + "=extra" for o in extra]
            log.info("out of sync", app=app.name, revision=rendered.revision, objects=differing[:5])
        try:
            health = await self.health_rules.rules_for(project)
            status = self._status(obj, rendered, comparisons, in_sync, conditions, health)
        except Exception:
            await self._ended(obj, ended, event)
            raise
        await self._ended(obj, {**status, **ended}, event, replace=True)
        return retry_in

    async def _ended(
        self,
        obj: dict[str, Any],
        changes: Mapping[str, Any],
        event: tuple[str, str, bool] | None,
        *,
        replace: bool = False,
    ) -> None:
        """Write a status (`replace`) or an operation's deferred end, then post the operation's Event."""
        if replace:
            await self.status.write(obj, changes)
            obj["status"] = dict(changes)
        elif changes:
            await self.operations.put(obj, changes)
        if event is not None:
            await self.status.event(obj, *event)

    def _status(
        self,
        obj: Mapping[str, Any],
        rendered: Revisioned,
        comparisons: Sequence[Comparison],
        in_sync: bool,
        conditions: Sequence[Mapping[str, str]],
        health_rules: HealthRules | None = None,
    ) -> dict[str, Any]:
        """What this pass saw; the operation's record and the history are the operation's to write."""
        previous: Mapping[str, Any] = obj.get("status") or {}
        live = [self.cache.store.get(c.key) for c in comparisons]
        health = aggregate((o, assess(o, health_rules)) for o in live if o is not None)
        status: dict[str, Any] = {
            "sync": {
                "status": str(SyncStatusCode.synced if in_sync else SyncStatusCode.out_of_sync),
                "revision": rendered.revision,
                "comparedTo": {"destination": obj["spec"]["destination"], **records.spec_sources(obj)},
            },
            "health": {"status": str(health.status), "message": health.message}
            if health
            else {"status": str(HealthStatus.healthy)},
            "resources": [_resource(c, self.cache.store.get(c.key), health_rules) for c in comparisons],
            "history": list(previous.get("history") or []),
            "reconciledAt": _now(),
        }
        if previous.get("operationState"):
            status["operationState"] = previous["operationState"]
        if conditions:
            status["conditions"] = records.with_times(previous.get("conditions") or [], conditions)
        return status

    async def _fail(self, obj: dict[str, Any], condition: ConditionType, message: str) -> None:
        """Keep everything the last good pass recorded; add the condition that says what is wrong."""
        previous = dict(obj.get("status") or {})
        conditions = previous.get("conditions") or []
        same = next(
            (c for c in conditions if c.get("type") == condition and c.get("message") == message), None
        )
        if same is not None and previous.get("sync"):
            # Still failing for the same reason: a stuck app must not rewrite its status (or
            # repeat its Event) on every poll; the condition's time says when it started.
            return
        others = [c for c in conditions if c.get("type") != condition]
        previous["conditions"] = [
            *others,
            {"type": str(condition), "message": message, "lastTransitionTime": _now()},
        ]
        previous.setdefault("sync", {"status": str(SyncStatusCode.unknown)})
        await self.status.write(obj, previous)
        await self.status.event(obj, str(condition), message.splitlines()[0][:200], warning=True)

    async def _clear_refresh(self, obj: Mapping[str, Any]) -> None:
        """The refresh was done: remove its annotation (only the one(s) set), so it is not done again."""
        metadata = obj["metadata"]
        present = [a for a in records.REFRESH_ANNOTATIONS if a in records.annotations_of(obj)]
        answer = await self.writer.merge_patch_at(
            self.resource.path(metadata["namespace"], metadata["name"]),
            {"metadata": {"annotations": dict.fromkeys(present)}},
        )
        self.status.wrote(answer)

    async def _finalize(self, obj: dict[str, Any]) -> None:
        """A deleting app with our finalizer: prune what it deployed, then let it go."""
        finalizers = list(obj["metadata"].get("finalizers") or [])
        ours = [f for f in finalizers if f in FINALIZERS]
        if not ours:
            return
        name = obj["metadata"]["name"]
        owner = tracking_app(obj["metadata"]["namespace"], name)
        spec: Mapping[str, Any] = obj.get("spec") or {}
        destination: Mapping[str, Any] = spec.get("destination") or {}
        namespace = str(destination.get("namespace") or "")
        # The project bounds the cascade as it bounds every prune; read from the raw spec, since a
        # deleting app whose spec no longer parses must still be deletable.
        try:
            project = await self.projects.named(str(spec.get("project") or "") or DEFAULT_PROJECT)
        except ProjectRefused as refused:
            message = f"{refused}; nothing was deleted (restore the project, or delete without cascade)"
            await self._fail(obj, ConditionType.deletion_error, message)
            raise RuntimeError(f"deleting {name}: {message}") from None
        scope = Scope(project, str(destination.get("server") or ""), str(destination.get("name") or ""))
        await self.cache.ensure_all(_kinds([], obj))
        result = await sync(
            SyncRequest(
                app=owner, objects=[], namespace=namespace, prune=True, allow_empty=True, scope=scope
            ),
            self.writer,
            live_objects=self.cache.store.tracked_by(owner),
        )
        if result.phase is not OperationPhase.succeeded:
            await self._fail(obj, ConditionType.deletion_error, result.message)
            raise RuntimeError(f"deleting {name}: {result.message}")
        _, outside = partition(owner, self.cache.store.tracked_by(owner), scope)
        if outside:
            log.warning("cascade delete left objects outside the project", app=name, objects=report(outside))
            reason = str(ConditionType.resource_outside_project_warning)
            await self.status.event(obj, reason, f"not deleted: {report(outside)}", warning=True)
        await self.writer.merge_patch_at(
            self.resource.path(obj["metadata"]["namespace"], name),
            {"metadata": {"finalizers": [f for f in finalizers if f not in FINALIZERS]}},
        )


def _kinds(objects: Sequence[Mapping[str, Any]], app: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(apiVersion, kind) of the desired objects and of the resources the app's status lists."""
    kinds = {(str(o.get("apiVersion")), str(o.get("kind"))) for o in objects}
    for resource in (app.get("status") or {}).get("resources") or []:
        group, version = resource.get("group", ""), resource.get("version", "")
        if version:
            kinds.add((f"{group}/{version}" if group else version, str(resource.get("kind"))))
    return kinds


def _problems(failure: ValidationFailed) -> str:
    return "\n".join(str(p) for p in failure.problems)


def _resource(
    comparison: Comparison, live: Mapping[str, Any] | None, rules: HealthRules | None = None
) -> dict[str, Any]:
    key = comparison.key
    health = assess(live, rules) if live is not None else None
    entry: dict[str, Any] = {
        **key.as_dict(),
        "status": str(comparison.status or SyncStatusCode.unknown),
    }
    if live is not None:
        entry["version"] = str(live.get("apiVersion", "")).rpartition("/")[2]
    if health is not None:
        entry["health"] = {"status": str(health.status), "message": health.message}
    return entry


def _superseded(todo: Pending, rendered: Revisioned) -> bool:
    """An automated sync waiting to retry a revision Git has moved past: the new one wins."""
    return not todo.requested and todo.wait > 0 and records.revision_of(todo) != rendered.revision


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
