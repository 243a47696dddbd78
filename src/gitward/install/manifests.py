"""Everything `gitward install` prints or applies, in the order the API server needs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gitward import __version__
from gitward.install import controller, rbac, server
from gitward.install.crds import crds

DEFAULT_NAMESPACE = "gitward"
# No public registry publishes this yet: build deploy/Containerfile and pass --image.
DEFAULT_IMAGE = f"ghcr.io/gitward/gitward:v{__version__}"


@dataclass(frozen=True)
class InstallOptions:
    image: str = DEFAULT_IMAGE
    namespace: str = DEFAULT_NAMESPACE
    compat_argocd: bool = False
    replicas: int = 1
    server: bool = True  # the API server too, as Argo CD installs its own by default


def manifests(options: InstallOptions, crds_only: bool = False) -> list[dict[str, Any]]:
    """CRDs first (everything else may refer to their kinds), then the namespace, RBAC, the Deployments."""
    objects = crds(options.compat_argocd)
    if crds_only:
        return objects
    ns = options.namespace
    objects = [
        *objects,
        controller.namespace(ns),
        rbac.service_account(ns),
        *rbac.cluster_roles(options.compat_argocd),
        rbac.namespace_role(ns),
        *rbac.bindings(ns),
        controller.deployment(ns, options.image, options.compat_argocd, options.replicas),
    ]
    if options.server:
        objects += server.objects(ns, options.image, options.compat_argocd)
    return objects


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML in a stable order: committed files are compared to this byte for byte."""
    return yaml.dump_all(objects, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=100)


class _PlainDumper(yaml.SafeDumper):
    """Writes a dict the manifests share (labels, say) out in full each time, not as `&id001` anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
