"""The AppProject: which repositories, destinations and kinds its Applications may use, and when."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gitward.model.application import GROUP, VERSION, check_type_meta, manifest_order
from gitward.model.codec import Record, key
from gitward.model.duration import Duration
from gitward.model.fields import SpecError

# Five cron fields, or one of the descriptors (@daily, @hourly, ...) the Go cron parser accepts.
CRON_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+(\s+\S+){4})$"


class WindowKind(enum.StrEnum):
    allow = "allow"
    deny = "deny"


@dataclass(frozen=True)
class ProjectDestination(Record):
    """Globs; a leading `!` excludes what matches."""

    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class GroupKind(Record):
    """A kind of object; group "" is the core group, "*" matches any."""

    kind: str
    group: str = ""


@dataclass(frozen=True)
class JWTToken(Record):
    iat: int
    exp: int = 0
    id: str = ""


@dataclass(frozen=True)
class ProjectRole(Record):
    name: str
    description: str = ""
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    jwt_tokens: tuple[JWTToken, ...] = ()


@dataclass(frozen=True)
class SyncWindow(Record):
    """While an allow window is open (or no deny window is), automated syncs may run."""

    kind: WindowKind
    schedule: str = field(metadata=key(pattern=CRON_PATTERN))
    duration: Duration
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    time_zone: str = ""

    # Argo CD refuses a window that selects no app; accepted, it would silently never apply.
    RULES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "has(self.applications) || has(self.namespaces) || has(self.clusters)",
            "a sync window needs applications, namespaces or clusters",
        ),
    )

    def check(self, where: str) -> None:
        if not (self.applications or self.namespaces or self.clusters):
            raise SpecError(f"{where}: a sync window needs applications, namespaces or clusters")


@dataclass(frozen=True)
class OrphanedResourceKey(Record):
    group: str = ""
    kind: str = ""
    name: str = ""


@dataclass(frozen=True)
class OrphanedResources(Record):
    warn: bool = False
    ignore: tuple[OrphanedResourceKey, ...] = ()


@dataclass(frozen=True)
class SignatureKey(Record):
    key_id: str


@dataclass(frozen=True)
class HealthRuleSpec(Record):
    """CEL expressions judging one kind's health for the project's apps (see gitward.engine.health.rules)."""

    kind: str
    group: str = ""
    healthy: str = ""
    progressing: str = ""
    degraded: str = ""
    message: str = ""


@dataclass(frozen=True)
class AppProjectSpec(Record):
    """What the project's Applications may use: repositories, destinations, kinds, sync windows."""

    description: str = ""
    source_repos: tuple[str, ...] = ()
    source_namespaces: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[GroupKind, ...] = ()
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] = ()
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    roles: tuple[ProjectRole, ...] = ()
    sync_windows: tuple[SyncWindow, ...] = ()
    orphaned_resources: OrphanedResources | None = None
    signature_keys: tuple[SignatureKey, ...] = ()
    permit_only_project_scoped_clusters: bool = False
    health_rules: tuple[HealthRuleSpec, ...] = ()


@dataclass(frozen=True)
class AppProject(Record):
    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = "AppProject"
    metadata: dict[str, Any] = field(default_factory=dict)
    spec: AppProjectSpec = AppProjectSpec()
    # Argo CD keeps issued role tokens here; gitward writes nothing yet, so it stays open.
    status: dict[str, Any] | None = None

    def check(self, where: str) -> None:
        check_type_meta(self.api_version, self.kind, "AppProject", self.metadata)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    def to_dict(self) -> dict[str, Any]:
        return manifest_order(super().to_dict(), self.api_version, self.kind)
