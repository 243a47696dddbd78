"""An Application's `status`, written by the controller and read by people, the CLI and the API.

Status records are OPEN: Argo CD writes fields gitward does not use
(`summary`, `sourceType`, ...), and an app moved between the two must keep
them, so unknown keys are carried in `extra` rather than refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gitward.model.codec import Record, key
from gitward.model.health import HealthStatus
from gitward.model.operation import Operation, OperationInitiator
from gitward.model.source import ApplicationSource


class SyncStatusCode(enum.StrEnum):
    synced = "Synced"
    out_of_sync = "OutOfSync"
    unknown = "Unknown"


class OperationPhase(enum.StrEnum):
    running = "Running"
    terminating = "Terminating"
    failed = "Failed"
    error = "Error"
    succeeded = "Succeeded"

    @property
    def completed(self) -> bool:
        return self not in (OperationPhase.running, OperationPhase.terminating)


class ResultCode(enum.StrEnum):
    """What a sync did to one object (a ResourceResult's `status`)."""

    synced = "Synced"
    sync_failed = "SyncFailed"
    pruned = "Pruned"
    prune_skipped = "PruneSkipped"


class ConditionType(enum.StrEnum):
    """The types gitward sets; a condition read from the cluster may carry any other string."""

    invalid_spec_error = "InvalidSpecError"
    comparison_error = "ComparisonError"
    sync_error = "SyncError"
    deletion_error = "DeletionError"
    shared_resource_warning = "SharedResourceWarning"
    orphaned_resource_warning = "OrphanedResourceWarning"
    # gitward's own: objects carry the app's tracking id but lie outside its project (never pruned).
    resource_outside_project_warning = "ResourceOutsideProjectWarning"
    # gitward's own: automated sync and self-heal are paused (after a rollback) until a manual sync.
    automation_paused = "AutomationPaused"
    # gitward's own: an automated sync waits for the project's sync window to open.
    sync_window_blocked = "SyncWindowBlocked"


class _Open(Record):
    OPEN: ClassVar[bool] = True


@dataclass(frozen=True)
class ApplicationDestinationStatus(_Open):
    server: str = ""
    name: str = ""
    namespace: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparedTo(_Open):
    """What the last comparison used, so a spec edited since then shows as not yet compared."""

    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    destination: ApplicationDestinationStatus | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncStatus(_Open):
    status: SyncStatusCode
    revision: str = ""
    revisions: tuple[str, ...] = ()
    compared_to: ComparedTo | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppHealth(_Open):
    status: HealthStatus
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceStatus(_Open):
    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: SyncStatusCode | None = None
    health: AppHealth | None = None
    hook: bool = False
    requires_pruning: bool = False
    sync_wave: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RevisionHistory(_Open):
    id: int = field(metadata=key(minimum=0))
    revision: str = ""
    revisions: tuple[str, ...] = ()
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    deployed_at: str = ""
    deploy_started_at: str = ""
    initiated_by: OperationInitiator | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceResult(_Open):
    """One object's outcome in a sync: Synced, SyncFailed, Pruned, PruneSkipped."""

    kind: str
    name: str
    group: str = ""
    version: str = ""
    namespace: str = ""
    status: str = ""
    message: str = ""
    hook_type: str = ""
    hook_phase: str = ""
    sync_phase: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncOperationResult(_Open):
    revision: str = ""
    revisions: tuple[str, ...] = ()
    resources: tuple[ResourceResult, ...] = ()
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OperationState(_Open):
    phase: OperationPhase
    operation: Operation | None = None
    message: str = ""
    sync_result: SyncOperationResult | None = None
    started_at: str = ""
    finished_at: str = ""
    retry_count: int = field(default=0, metadata=key(minimum=0))
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationCondition(_Open):
    type: str
    message: str = ""
    last_transition_time: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationStatus(_Open):
    sync: SyncStatus | None = None
    health: AppHealth | None = None
    resources: tuple[ResourceStatus, ...] = ()
    history: tuple[RevisionHistory, ...] = ()
    operation_state: OperationState | None = None
    conditions: tuple[ApplicationCondition, ...] = ()
    reconciled_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
