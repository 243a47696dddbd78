"""Everything `gitward install` prints or applies, in the order the API server needs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gitward import __version__
from gitward.install import controller, rbac
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


def manifests(options: InstallOptions, crds_only: bool = False) -> list[dict[str, Any]]:
    """CRDs first (everything else may refer to their kinds), then the namespace, RBAC, the Deployment."""
    objects = crds(options.compat_argocd)
    if crds_only:
        return objects
    ns = options.namespace
    return [
        *objects,
        controller.namespace(ns),
        rbac.service_account(ns),
        *rbac.cluster_roles(options.compat_argocd),
        rbac.namespace_role(ns),
        *rbac.bindings(ns),
        controller.deployment(ns, options.image, options.compat_argocd, options.replicas),
    ]


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML in a stable order: committed files are compared to this byte for byte."""
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False, width=100)
