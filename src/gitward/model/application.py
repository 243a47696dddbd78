"""The Application: what to deploy (spec), a requested sync (operation) and what happened (status).

Argo CD's field names, under `gitward.dev/v1alpha1` or, in compatibility
mode, `argoproj.io/v1alpha1`. The spec is strict: an unknown key or a wrong
type is an error naming the field, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from gitward.model.codec import Record, key, read
from gitward.model.fields import SpecError
from gitward.model.operation import (
    ARGOCD_REFRESH_ANNOTATION,
    REFRESH_ANNOTATION,
    Operation,
    RetryStrategy,
)
from gitward.model.source import ApplicationSource, sources_from_spec
from gitward.model.status import ApplicationStatus

GROUP = "gitward.dev"
ARGOCD_GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSIONS = (f"{GROUP}/{VERSION}", f"{ARGOCD_GROUP}/{VERSION}")
# On a deleting app, this makes the controller delete what the app deployed before the app goes.
FINALIZER = "gitward.dev/resources-finalizer"
ARGOCD_FINALIZER = "resources-finalizer.argocd.argoproj.io"
FINALIZERS = (FINALIZER, ARGOCD_FINALIZER)
# The API server's address as seen from inside the cluster: the destination "this cluster".
IN_CLUSTER = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class AppResource:
    """Where Applications live in the API: ours, or Argo CD's group in compatibility mode."""

    group: str = GROUP
    version: str = VERSION
    plural: str = "applications"

    @property
    def argocd(self) -> bool:
        """Argo CD's group: the finalizer and the refresh annotation then use Argo CD's names too."""
        return self.group == ARGOCD_GROUP

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def finalizer(self) -> str:
        return ARGOCD_FINALIZER if self.argocd else FINALIZER

    @property
    def refresh_annotation(self) -> str:
        return ARGOCD_REFRESH_ANNOTATION if self.argocd else REFRESH_ANNOTATION

    def collection(self, namespace: str) -> str:
        return f"/apis/{self.group}/{self.version}/namespaces/{namespace}/{self.plural}"

    def path(self, namespace: str, name: str, subresource: str = "") -> str:
        base = f"{self.collection(namespace)}/{name}"
        return f"{base}/{subresource}" if subresource else base


@dataclass(frozen=True)
class ApplicationDestination(Record):
    """The cluster (its API server URL, or the name it is registered under) and the default namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""

    RULES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "(has(self.server) && self.server != '') != (has(self.name) && self.name != '')",
            "set server or name, not both",
        ),
    )

    def check(self, where: str) -> None:
        if self.server and self.name:
            raise SpecError(f"{where}: set server or name, not both")
        if not (self.server or self.name):
            raise SpecError(f"{where}: server or name is required")


@dataclass(frozen=True)
class SyncPolicyAutomated(Record):
    """Present (even empty) means automated sync is on."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class ManagedNamespaceMetadata(Record):
    """Labels and annotations for the namespace CreateNamespace=true creates."""

    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPolicy(Record):
    """When the controller syncs on its own, with which options, and how it retries."""

    automated: SyncPolicyAutomated | None = None
    sync_options: tuple[str, ...] = ()
    retry: RetryStrategy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None


@dataclass(frozen=True)
class ResourceIgnoreDifferences(Record):
    """Parts of the matching live objects that never count as a difference from Git."""

    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplicationSpec(Record):
    """What to deploy (source or sources), where (destination), under which project, and how to sync."""

    destination: ApplicationDestination
    project: str = "default"
    source: ApplicationSource | None = None
    sources: tuple[ApplicationSource, ...] = ()
    sync_policy: SyncPolicy | None = None
    ignore_differences: tuple[ResourceIgnoreDifferences, ...] = ()
    revision_history_limit: int = field(default=10, metadata=key(minimum=0))

    RULES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("has(self.source) != has(self.sources)", "set either source or sources, not both"),
    )

    @classmethod
    def from_dict(cls, data: object, where: str = "spec") -> Self:
        # model.source owns the rules between source and sources (one of them, refs unique).
        sources_from_spec(data, where)
        return read(cls, data, where)

    @property
    def all_sources(self) -> tuple[ApplicationSource, ...]:
        return self.sources or ((self.source,) if self.source is not None else ())

    @property
    def automated(self) -> SyncPolicyAutomated | None:
        return self.sync_policy.automated if self.sync_policy is not None else None


@dataclass(frozen=True)
class Application(Record):
    spec: ApplicationSpec
    api_version: str = f"{GROUP}/{VERSION}"
    kind: str = "Application"
    metadata: dict[str, Any] = field(default_factory=dict)
    operation: Operation | None = None
    status: ApplicationStatus | None = None

    def check(self, where: str) -> None:
        check_type_meta(self.api_version, self.kind, "Application", self.metadata)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def compat(self) -> bool:
        """Stored under Argo CD's group: the finalizer and annotations then use Argo CD's names."""
        return self.api_version.startswith(f"{ARGOCD_GROUP}/")

    def to_dict(self) -> dict[str, Any]:
        return manifest_order(super().to_dict(), self.api_version, self.kind)


def check_type_meta(api_version: str, kind: str, expected: str, metadata: Mapping[str, Any]) -> None:
    if api_version not in API_VERSIONS:
        raise SpecError(f"apiVersion: expected one of {', '.join(API_VERSIONS)}, got {api_version!r}")
    if kind != expected:
        raise SpecError(f"kind: expected {expected}, got {kind!r}")
    for name in ("name", "namespace"):
        if not isinstance(metadata.get(name, ""), str):
            raise SpecError(f"metadata.{name}: expected a string")


def manifest_order(fields: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """apiVersion and kind always (even at their defaults: a whole manifest), then metadata."""
    head: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    if "metadata" in fields:
        head["metadata"] = fields["metadata"]
    return {**head, **fields}
