"""A requested sync (an Application's top-level `operation`) and the retry policy shared with syncPolicy."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward.model.codec import Record, key
from gitward.model.duration import Duration
from gitward.model.source import ApplicationSource, SpecError

_FIVE_SECONDS = Duration.parse("5s")
_THREE_MINUTES = Duration.parse("3m")


@dataclass(frozen=True)
class Backoff(Record):
    """Argo CD's defaults: 5s, doubled after each failure, never more than 3m."""

    duration: Duration = _FIVE_SECONDS
    factor: int = field(default=2, metadata=key(minimum=1))
    max_duration: Duration = _THREE_MINUTES

    def check(self, where: str) -> None:
        if self.max_duration.seconds < self.duration.seconds:
            raise SpecError(
                f"{where}.maxDuration: {self.max_duration} is shorter than duration {self.duration}"
            )


@dataclass(frozen=True)
class RetryStrategy(Record):
    limit: int = field(default=5, metadata=key(minimum=-1, doc="Attempts after the first; -1: no limit."))
    backoff: Backoff | None = None

    @property
    def effective_backoff(self) -> Backoff:
        return self.backoff or Backoff()


@dataclass(frozen=True)
class SyncOperationResource(Record):
    """One object to sync when a sync names only some of the app's objects."""

    kind: str
    name: str
    group: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class SyncStrategyApply(Record):
    force: bool = False


@dataclass(frozen=True)
class SyncStrategy(Record):
    """Kept for Argo CD manifests and CLIs that send it; gitward always syncs with hooks."""

    apply: SyncStrategyApply | None = None
    hook: SyncStrategyApply | None = None


@dataclass(frozen=True)
class SyncOperation(Record):
    revision: str = ""
    revisions: tuple[str, ...] = ()
    prune: bool = False
    dry_run: bool = False
    resources: tuple[SyncOperationResource, ...] = ()
    sync_options: tuple[str, ...] = ()
    sync_strategy: SyncStrategy | None = None
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()


@dataclass(frozen=True)
class OperationInitiator(Record):
    username: str = ""
    automated: bool = False


@dataclass(frozen=True)
class Info(Record):
    name: str
    value: str


@dataclass(frozen=True)
class Operation(Record):
    """Written by a person or the controller; the controller runs it, then clears it."""

    sync: SyncOperation | None = None
    initiated_by: OperationInitiator | None = None
    info: tuple[Info, ...] = ()
    retry: RetryStrategy | None = None
