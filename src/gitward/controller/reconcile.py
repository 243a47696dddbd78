"""One reconcile of one Application: Git revision -> rendered objects -> compare -> sync -> status.

Bad input never costs the cluster anything: an unreadable spec, an
unreachable repository or a revision that does not render stops the pass
before any write, sets a condition naming the cause (file:line:col for
malformed YAML), and leaves what the last good revision deployed alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller.status import AppResource, StatusWriter
from gitward.controller.triggers import tracking_app
from gitward.engine import options as sync_options
from gitward.engine.compare import OUT_OF_SYNC, SYNCED, Comparer, Comparison, WatchedLive, with_namespace
from gitward.engine.health import aggregate, assess
from gitward.engine.ignore import IgnoreRule, IgnoreRuleError, load_rules
from gitward.engine.repo_credentials import load as load_credentials
from gitward.engine.repo_credentials import match as match_credentials
from gitward.engine.sync import sync
from gitward.engine.sync_result import OperationPhase, SyncRequest, SyncResult
from gitward.kube import KubeError, WatchCache, Writer
from gitward.kube.connection import Connection
from gitward.model.application import IN_CLUSTER, Application
from gitward.model.resource import ResourceKey
from gitward.model.source import ApplicationSource, SpecError
from gitward.model.sync import SyncSpecError
from gitward.render import AppContext, Renderer, SourceTree, ValidationFailed
from gitward.render.tools import RenderError
from gitward.source import RepoCache, SourceError

log = structlog.get_logger(__name__)

FINALIZERS = ("gitward.dev/resources-finalizer", "resources-finalizer.argocd.argoproj.io")


@dataclass
class Revisioned:
    """A rendered revision: the commit of each source and the objects they declare."""

    revisions: list[str]
    objects: list[dict[str, Any]]

    @property
    def revision(self) -> str:
        return ",".join(r for r in self.revisions if r)


class Reconciler:
    """Shared by every worker; one per cluster it serves."""

    def __init__(
        self,
        connection: Connection,
        cache: WatchCache,
        repos: RepoCache,
        renderer: Renderer,
        *,
        namespace: str,
        resource: AppResource | None = None,
    ) -> None:
        self.connection = connection
        self.cache = cache
        self.writer = Writer(connection, cache.discovery)
        self.comparer = Comparer(self.writer, WatchedLive(cache))
        self.repos = repos
        self.renderer = renderer
        self.namespace = namespace
        self.resource = resource or AppResource()
        self.status = StatusWriter(connection, self.resource)

    async def reconcile(self, name: str) -> None:
        obj = await self._get(name)
        if obj is None:
            return
        if obj["metadata"].get("deletionTimestamp"):
            await self._finalize(obj)
            return
        try:
            app = Application.from_dict(obj)
            # The model checked the entries' shape; the engine compiles their pointers and jq.
            rules = load_rules(obj["spec"].get("ignoreDifferences") or [])
        except (SpecError, IgnoreRuleError, ValueError) as problem:
            await self._fail(obj, "InvalidSpecError", str(problem))
            return
        destination = app.spec.destination
        if destination.server not in ("", IN_CLUSTER) or destination.name not in ("", "in-cluster"):
            await self._fail(obj, "InvalidSpecError", "only the cluster gitward runs in is supported so far")
            return
        try:
            rendered = await self._render(app)
        except SourceError as problem:
            await self._fail(obj, "ComparisonError", str(problem))
            raise  # retried with backoff: the server may come back
        except ValidationFailed as failure:
            await self._fail(obj, "ComparisonError", _problems(failure))
            return
        except RenderError as problem:
            await self._fail(obj, "ComparisonError", str(problem))
            return
        await self._compare_and_sync(obj, app, rendered, rules)

    async def _get(self, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self.connection.request(
                "GET", self.resource.path(self.namespace, name)
            )
        except KubeError as problem:
            if problem.not_found:
                return None
            raise
        return found

    async def _render(self, app: Application) -> Revisioned:
        sources = app.spec.all_sources
        known, problems = await load_credentials(self.connection, self.namespace)
        for problem in problems:
            log.warning("repository secret unusable", problem=problem)

        async def tree(source: ApplicationSource) -> SourceTree | None:
            if source.chart:
                return None
            chosen = match_credentials(known, source.repo_url)
            credentials = chosen.credentials if chosen else None
            found = await self.repos.resolve(source.repo_url, source.target_revision, credentials=credentials)
            root = await self.repos.checkout(source.repo_url, found.sha, credentials=credentials)
            return SourceTree(root, found.sha)

        trees = list(await asyncio.gather(*(tree(s) for s in sources)))
        context = AppContext(app.name, app.spec.destination.namespace)
        objects = await self.renderer.render_sources_async(sources, trees, context)
        objects = await with_namespace(objects, app.spec.destination.namespace, self.cache.discovery)
        revisions = [
            t.sha if t is not None else (s.target_revision or "") for s, t in zip(sources, trees, strict=True)
        ]
        return Revisioned(revisions, objects)

    async def _compare_and_sync(
        self, obj: dict[str, Any], app: Application, rendered: Revisioned, rules: Sequence[IgnoreRule]
    ) -> None:
        # Watch every kind the app declares now or deployed before: drift in either must wake us,
        # and prune needs the live copies of kinds that have left Git.
        await self.cache.ensure_all(_kinds(rendered.objects, obj))
        owner = tracking_app(app.namespace, app.name)
        comparisons = await self.comparer.compare_all(rendered.objects, rules, app=owner)
        desired = {c.key for c in comparisons}
        extra = [o for o in self.cache.store.tracked_by(owner) if ResourceKey.of(o) not in desired]
        in_sync = all(c.status == SYNCED for c in comparisons) and not extra
        operation = obj.get("operation") or {}
        automated = app.spec.automated
        last = _last_synced_revision(obj)
        result: SyncResult | None = None
        wants_sync = bool(operation) or (
            automated is not None
            and not in_sync
            and (rendered.revision != last or automated.self_heal)
            and (rendered.objects or automated.allow_empty)
        )
        if wants_sync:
            requested = operation.get("sync") or {}
            try:
                app_options = sync_options.parse(
                    app.spec.sync_policy.sync_options if app.spec.sync_policy else ()
                )
            except SyncSpecError as problem:
                await self._fail(obj, "InvalidSpecError", str(problem))
                return
            request = SyncRequest(
                app=owner,
                objects=rendered.objects,
                namespace=app.spec.destination.namespace,
                options=app_options,
                prune=bool(requested.get("prune")) if operation else bool(automated and automated.prune),
                dry_run=bool(requested.get("dryRun")),
                allow_empty=bool(automated and automated.allow_empty),
                ignore_rules=rules,
            )
            result = await sync(
                request,
                self.writer,
                comparer=self.comparer,
                live_objects=self.cache.store.tracked_by(owner),
            )
            if operation:
                await self._clear_operation(obj)
            if result.phase is OperationPhase.succeeded and not result.dry_run:
                comparisons = await self.comparer.compare_all(rendered.objects, rules, app=owner)
                in_sync = all(c.status == SYNCED for c in comparisons)
                await self.status.event(obj, "Synced", f"synced to {rendered.revision[:12]}")
            else:
                await self.status.event(obj, "SyncFailed", result.message, warning=True)
        elif not in_sync:
            log.info("out of sync", app=app.name, revision=rendered.revision)
        await self.status.write(obj, self._status(obj, app, rendered, comparisons, in_sync, result))

    def _status(
        self,
        obj: Mapping[str, Any],
        app: Application,
        rendered: Revisioned,
        comparisons: Sequence[Comparison],
        in_sync: bool,
        result: SyncResult | None,
    ) -> dict[str, Any]:
        previous: Mapping[str, Any] = obj.get("status") or {}
        live = [self.cache.store.get(c.key) for c in comparisons]
        health = aggregate((o, assess(o)) for o in live if o is not None)
        status: dict[str, Any] = {
            "sync": {
                "status": SYNCED if in_sync else OUT_OF_SYNC,
                "revision": rendered.revision,
                "comparedTo": {"destination": obj["spec"]["destination"], **_sources_of(obj)},
            },
            "health": {"status": str(health.status), "message": health.message}
            if health
            else {"status": "Healthy"},
            "resources": [_resource(c, self.cache.store.get(c.key)) for c in comparisons],
            "history": list(previous.get("history") or []),
            "reconciledAt": _now(),
        }
        if previous.get("operationState"):
            status["operationState"] = previous["operationState"]
        if result is not None:
            status["operationState"] = {
                "phase": str(result.phase),
                "message": result.message,
                "startedAt": result.started_at,
                "finishedAt": result.finished_at,
                "syncResult": {
                    "revision": rendered.revision,
                    "resources": [r.as_dict() for r in result.resources],
                },
            }
            if result.phase is OperationPhase.succeeded and not result.dry_run:
                history = status["history"]
                history.append(
                    {
                        "id": 1 + max((h.get("id", 0) for h in history), default=-1),
                        "revision": rendered.revision,
                        "deployedAt": result.finished_at,
                        "deployStartedAt": result.started_at,
                        **_sources_of(obj),
                    }
                )
                status["history"] = history[-max(1, app.spec.revision_history_limit) :]
        return status

    async def _fail(self, obj: dict[str, Any], condition: str, message: str) -> None:
        """Keep everything the last good pass recorded; add the condition that says what is wrong."""
        previous = dict(obj.get("status") or {})
        others = [c for c in previous.get("conditions") or [] if c.get("type") != condition]
        stamp = _now()
        previous["conditions"] = [
            *others,
            {"type": condition, "message": message, "lastTransitionTime": stamp},
        ]
        previous.setdefault("sync", {"status": "Unknown"})
        await self.status.write(obj, previous)
        await self.status.event(obj, condition, message.splitlines()[0][:200], warning=True)

    async def _clear_operation(self, obj: Mapping[str, Any]) -> None:
        metadata = obj["metadata"]
        await self.connection.request(
            "PATCH",
            self.resource.path(metadata["namespace"], metadata["name"]),
            body={"operation": None},
            content_type="application/merge-patch+json",
        )

    async def _finalize(self, obj: dict[str, Any]) -> None:
        """A deleting app with our finalizer: prune what it deployed, then let it go."""
        finalizers = list(obj["metadata"].get("finalizers") or [])
        ours = [f for f in finalizers if f in FINALIZERS]
        if not ours:
            return
        name = obj["metadata"]["name"]
        owner = tracking_app(obj["metadata"]["namespace"], name)
        namespace = (obj.get("spec") or {}).get("destination", {}).get("namespace", "")
        await self.cache.ensure_all(_kinds([], obj))
        result = await sync(
            SyncRequest(app=owner, objects=[], namespace=namespace, prune=True, allow_empty=True),
            self.writer,
            live_objects=self.cache.store.tracked_by(owner),
        )
        if result.phase is not OperationPhase.succeeded:
            await self._fail(obj, "DeletionError", result.message)
            raise RuntimeError(f"deleting {name}: {result.message}")
        await self.connection.request(
            "PATCH",
            self.resource.path(obj["metadata"]["namespace"], name),
            body={"metadata": {"finalizers": [f for f in finalizers if f not in FINALIZERS]}},
            content_type="application/merge-patch+json",
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


def _resource(comparison: Comparison, live: Mapping[str, Any] | None) -> dict[str, Any]:
    key = comparison.key
    health = assess(live) if live is not None else None
    entry: dict[str, Any] = {
        "group": key.group,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "status": comparison.status or "Unknown",
    }
    if live is not None:
        entry["version"] = str(live.get("apiVersion", "")).rpartition("/")[2]
    if health is not None:
        entry["health"] = {"status": str(health.status), "message": health.message}
    return entry


def _sources_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    return {"sources": spec["sources"]} if spec.get("sources") else {"source": spec.get("source")}


def _last_synced_revision(obj: Mapping[str, Any]) -> str:
    history = (obj.get("status") or {}).get("history") or []
    return str(history[-1].get("revision", "")) if history else ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
