"""Install manifests, generated from `gitward.model`: the CRDs, RBAC and the controller's Deployment.

Beside kube, render and source in the layers: it imports only the model, and
the CLI applies what it returns.
"""

from gitward.install.crds import app_project_crd, application_crd, crds
from gitward.install.manifests import DEFAULT_IMAGE, DEFAULT_NAMESPACE, InstallOptions, manifests, to_yaml

__all__ = [
    "DEFAULT_IMAGE",
    "DEFAULT_NAMESPACE",
    "InstallOptions",
    "app_project_crd",
    "application_crd",
    "crds",
    "manifests",
    "to_yaml",
]
