"""What an Application's records ask for: the operation to run or resume, and what automation wants.

Pure reading of the app's JSON (its `operation`, annotations and
`status.operationState`), so every rule here is tested on plain dicts; the
running happens in gitward.controller.operation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.engine.desired import Revisioned
from gitward.engine.sync.resume import DoneHook
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.operation import PAUSE_ANNOTATION, REFRESH_ANNOTATIONS, Operation, RetryStrategy
from gitward.model.source import ApplicationSource
from gitward.model.status import ConditionType, OperationPhase

__all__ = ["PAUSE_ANNOTATION", "REFRESH_ANNOTATIONS", "Pending"]


@dataclass(frozen=True)
class Pending:
    """An operation to run (or to go on with) in this pass."""

    operation: Mapping[str, Any]
    # From the app's `operation` field, which is cleared when the operation ends.
    requested: bool
    started_at: str
    retry_count: int = 0
    # Hooks an interrupted attempt already finished: not run again.
    done_hooks: tuple[DoneHook, ...] = ()
    # Seconds before the next attempt may start (a retry's backoff); 0: now.
    wait: float = 0.0
    # Going on with an attempt a crash cut off (not starting a new one).
    resumed: bool = False

    @property
    def sync(self) -> Mapping[str, Any]:
        found = self.operation.get("sync")
        return found if isinstance(found, Mapping) else {}

    @property
    def automated(self) -> bool:
        initiator = self.operation.get("initiatedBy")
        return isinstance(initiator, Mapping) and initiator.get("automated") is True


def pending(obj: Mapping[str, Any], now: dt.datetime | None = None) -> Pending | None:
    """The app's requested operation, or the one its status says is still Running."""
    state = (obj.get("status") or {}).get("operationState") or {}
    running = state.get("phase") == OperationPhase.running and isinstance(state.get("operation"), Mapping)
    requested = obj.get("operation")
    if isinstance(requested, Mapping) and requested:
        if running and state["operation"] == requested:
            return _resumed(state, requested=True, now=now)
        return Pending(requested, requested=True, started_at=timestamp())
    if running:
        return _resumed(state, requested=False, now=now)
    return None


def _resumed(state: Mapping[str, Any], *, requested: bool, now: dt.datetime | None) -> Pending:
    count = int(state.get("retryCount") or 0)
    started = str(state.get("startedAt") or timestamp())
    finished = state.get("finishedAt")
    if finished:
        # Between two attempts: the next one starts fresh once its backoff has passed.
        due = parse_time(str(finished)) + dt.timedelta(seconds=retry_policy(state["operation"]).delay(count))
        wait = (due - (now or dt.datetime.now(dt.UTC))).total_seconds()
        return Pending(state["operation"], requested, started, count, wait=max(0.0, wait))
    # An attempt was cut off (the controller died): go on with it.
    results = (state.get("syncResult") or {}).get("resources") or []
    found = (DoneHook.from_entry(r) for r in results if isinstance(r, Mapping))
    done = tuple(hook for hook in found if hook is not None)
    return Pending(state["operation"], requested, started, count, done, resumed=True)


def retry_policy(operation: Mapping[str, Any]) -> RetryStrategy:
    """The operation's retry policy; none (no retries) when it has none or it cannot be read."""
    try:
        found = Operation.from_dict(operation, "operation").retry
    except SpecError:
        found = None
    return found if found is not None else RetryStrategy(limit=0)


def pinned_sources(app: Application, todo: Pending) -> tuple[ApplicationSource, ...] | None:
    """The sources at the revision(s) the operation names; None: the spec's, at its target revision."""
    parsed = Operation.from_dict(todo.operation, "operation")
    sync = parsed.sync
    if sync is None:
        return None
    sources = sync.sources or ((sync.source,) if sync.source else app.spec.all_sources)
    revisions: Sequence[str] = sync.revisions
    if not revisions and sync.revision:
        revisions = sync.revision.split(",") if len(sources) > 1 else [sync.revision]
    if not revisions:
        return sources if (sync.source or sync.sources) else None
    if len(revisions) != len(sources):
        raise SpecError(
            f"operation.sync: {len(revisions)} revision(s) for {len(sources)} source(s); give one per source"
        )
    return tuple(
        dataclasses.replace(s, target_revision=r) if r else s for s, r in zip(sources, revisions, strict=True)
    )


def revision_of(todo: Pending) -> str:
    sync = todo.sync
    revisions = sync.get("revisions")
    if isinstance(revisions, list) and revisions:
        return ",".join(str(r) for r in revisions if r)
    return str(sync.get("revision") or "")


def automated_request(
    obj: Mapping[str, Any], app: Application, rendered: Revisioned, in_sync: bool
) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    """The operation automation starts now (or None), and the conditions that explain a refusal."""
    paused = annotations_of(obj).get(PAUSE_ANNOTATION)
    if paused is not None:
        message = f"{paused}; run `gitward app sync {app.name}` to resume"
        return None, [condition(ConditionType.automation_paused, message)]
    automated = app.spec.automated
    if automated is None or in_sync or not (rendered.objects or automated.allow_empty):
        return None, []
    if rendered.revision == last_synced_revision(obj) and not automated.self_heal:
        return None, []  # drift without selfHeal is reported, not reverted
    failed = failed_attempt(obj, rendered.revision)
    if failed is not None:
        return None, [condition(ConditionType.sync_error, failed)]
    sync: dict[str, Any] = {"prune": automated.prune}
    if len(rendered.revisions) > 1:
        sync["revisions"] = list(rendered.revisions)
    else:
        sync["revision"] = rendered.revision
    policy = app.spec.sync_policy.retry if app.spec.sync_policy else None
    # REFERENCE §1: automated syncs retry 5 times unless syncPolicy.retry says otherwise.
    retry = (policy or RetryStrategy()).to_dict()
    return {"sync": sync, "initiatedBy": {"automated": True}, "retry": retry}, []


def failed_attempt(obj: Mapping[str, Any], revision: str) -> str | None:
    """Why automation leaves `revision` alone: the last operation failed on it with the same sources."""
    state = (obj.get("status") or {}).get("operationState") or {}
    ended_badly = state.get("phase") in (OperationPhase.failed, OperationPhase.error)
    if not ended_badly or ((state.get("operation") or {}).get("sync") or {}).get("dryRun"):
        return None
    result = state.get("syncResult") or {}
    if result.get("revision") != revision or _sources_json(result) != spec_sources(obj):
        return None
    tries = 1 + int(state.get("retryCount") or 0)
    return (
        f"the sync to {revision[:12]} failed ({tries} attempt{'s' if tries > 1 else ''}): "
        f"{state.get('message', '')}; automated sync tries it again only when the revision or the "
        "spec changes (`gitward app sync` tries now)"
    )


def last_synced_revision(obj: Mapping[str, Any]) -> str:
    history = (obj.get("status") or {}).get("history") or []
    return str(history[-1].get("revision", "")) if history else ""


def refresh_requested(obj: Mapping[str, Any]) -> str | None:
    """'normal' or 'hard' while a refresh annotation is set (any other value counts as normal)."""
    found = [annotations_of(obj).get(name) for name in REFRESH_ANNOTATIONS]
    values = [str(v) for v in found if v is not None]
    if not values:
        return None
    return "hard" if "hard" in values else "normal"


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found = (obj.get("metadata") or {}).get("annotations")
    return found if isinstance(found, Mapping) else {}


def spec_sources(obj: Mapping[str, Any]) -> dict[str, Any]:
    return _sources_json(obj.get("spec") or {})


def _sources_json(holder: Mapping[str, Any]) -> dict[str, Any]:
    if holder.get("sources"):
        return {"sources": holder["sources"]}
    return {"source": holder.get("source")}


def condition(kind: ConditionType, message: str) -> dict[str, str]:
    """A condition of the app's status (its time is added by `with_times`)."""
    return {"type": str(kind), "message": message}


def with_times(previous: Iterable[Mapping[str, Any]], conditions: Iterable[Mapping[str, str]]) -> list[Any]:
    """Conditions with lastTransitionTime, kept from the stored one when nothing changed, so an
    unchanged condition never causes a status write."""
    before = {(c.get("type"), c.get("message")): c.get("lastTransitionTime") for c in previous}
    stamp = timestamp()
    return [{**c, "lastTransitionTime": before.get((c["type"], c["message"])) or stamp} for c in conditions]


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(stamp: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)
