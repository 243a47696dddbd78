"""What one sync is asked to do, and what it did: per resource and overall (the operationState)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitward.engine.diff.ignore import IgnoreRule
from gitward.engine.health.assess import HealthRules
from gitward.engine.sync.prune import Scope
from gitward.model.health import Health
from gitward.model.resource import ResourceKey
from gitward.model.status import OperationPhase, ResultCode
from gitward.model.sync import HookType, Phase, SyncOptions

__all__ = ["ResourceResult", "SyncRequest", "SyncResult"]


@dataclass(frozen=True)
class SyncRequest:
    app: str
    objects: Sequence[Mapping[str, Any]]
    namespace: str
    options: SyncOptions = field(default_factory=SyncOptions)
    prune: bool = False
    dry_run: bool = False
    allow_empty: bool = False
    # Wait for the last wave's health too (between waves the sync always waits).
    wait: bool = True
    timeout: float = 300.0
    ignore_rules: Sequence[IgnoreRule] = ()
    health_rules: HealthRules | None = None
    # What the app's project lets prune touch; None trusts the tracking id (push mode, no project).
    scope: Scope | None = None


@dataclass
class ResourceResult:
    key: ResourceKey
    status: ResultCode
    message: str = ""
    phase: Phase | None = None
    wave: int = 0
    hook: HookType | None = None
    hook_phase: OperationPhase | None = None
    health: Health | None = None
    # A unified diff with Secret values masked, from the comparison before the write.
    diff: str = ""
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.key.as_dict(),
            "status": str(self.status),
            "message": self.message,
            "syncPhase": str(self.phase) if self.phase else None,
            "syncWave": self.wave,
            "hookType": str(self.hook) if self.hook else None,
            "hookPhase": str(self.hook_phase) if self.hook_phase else None,
            "health": _health(self.health),
            "written": self.written,
            "diff": self.diff,
        }


@dataclass
class SyncResult:
    app: str
    phase: OperationPhase
    message: str
    resources: list[ResourceResult] = field(default_factory=list)
    health: Health | None = None
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    # Seconds per stage: prepare, validate, apply, wait, prune, hooks.
    timings: dict[str, float] = field(default_factory=dict)
    # Write requests sent (dry runs and reads are not writes): 0 for a no-op re-sync.
    writes: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    # The revision's annotations or options could not be read (an InvalidSpecError, not a failure).
    spec_error: bool = False

    @property
    def failed(self) -> list[ResourceResult]:
        return [r for r in self.resources if r.status is ResultCode.sync_failed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "phase": str(self.phase),
            "message": self.message,
            "dryRun": self.dry_run,
            "health": _health(self.health),
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "writes": self.writes,
            "warnings": self.warnings,
            "resources": [r.as_dict() for r in self.resources],
        }


def _health(health: Health | None) -> dict[str, str] | None:
    return None if health is None else {"status": str(health.status), "message": health.message}
