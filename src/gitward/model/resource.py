"""The identity of one Kubernetes object, as every layer names it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The annotation that ties a live object to the app that applied it. It lives
# here, not in the engine, because the kube layer indexes its store by it too.
TRACKING_ANNOTATION = "gitward.dev/tracking-id"


@dataclass(frozen=True, order=True)
class ResourceKey:
    """group/kind/namespace/name; the core group is "" and a cluster-scoped object has namespace ""."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, object]) -> ResourceKey:
        """The key of a manifest; missing parts become "" (validation reports them, not this)."""
        api_version = obj.get("apiVersion")
        group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        namespace = name = ""
        if isinstance(metadata, Mapping):
            ns = metadata.get("namespace")
            nm = metadata.get("name")
            namespace = ns if isinstance(ns, str) else ""
            name = nm if isinstance(nm, str) else ""
        return cls(group, kind if isinstance(kind, str) else "", namespace, name)

    def as_dict(self) -> dict[str, str]:
        """The four fields under the names every status, result and API answer gives them."""
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        kind = f"{self.group}/{self.kind}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"
