"""A requested sync (an Application's top-level `operation`) and the retry policy shared with syncPolicy."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward.model.codec import Record, key
from gitward.model.duration import Duration
from gitward.model.fields import SpecError
from gitward.model.source import ApplicationSource

# Annotations a person (or the CLI, API or a webhook) sets on an Application; the controller acts on them.
PAUSE_ANNOTATION = "gitward.dev/automation-paused"  # set by a rollback; removed by the next manual sync
REFRESH_ANNOTATION = "gitward.dev/refresh"  # normal | hard; removed once Git was looked at
ARGOCD_REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"  # the same, as Argo CD users spell it
REFRESH_ANNOTATIONS = (REFRESH_ANNOTATION, ARGOCD_REFRESH_ANNOTATION)

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

    def allows(self, retries_done: int) -> bool:
        """Whether another attempt may follow `retries_done` retries."""
        return self.limit < 0 or retries_done < self.limit

    def delay(self, retry: int) -> float:
        """Seconds before retry number `retry` (1 for the first): duration x factor^(retry-1), capped."""
        backoff = self.effective_backoff
        seconds = backoff.duration.seconds * backoff.factor ** max(0, retry - 1)
        return float(min(seconds, backoff.max_duration.seconds))


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
