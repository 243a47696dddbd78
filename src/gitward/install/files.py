"""The files committed under deploy/: `python -m gitward.install.files deploy` rewrites them.

A unit test compares the committed files with `deploy_files()`, so an edit
to the model that is not regenerated fails the build instead of drifting.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gitward.install.crds import crds
from gitward.install.manifests import DEFAULT_IMAGE, InstallOptions, manifests, to_yaml

_HEADER = "# Generated from gitward.model by `python -m gitward.install.files deploy`; do not edit.\n"


def deploy_files(image: str = DEFAULT_IMAGE) -> dict[str, str]:
    """Relative path under deploy/ -> content."""
    files = {}
    for crd in crds(compat_argocd=True):
        files[f"crds/{crd['metadata']['name']}.yaml"] = _HEADER + to_yaml([crd])
    files["install.yaml"] = _HEADER + to_yaml(manifests(InstallOptions(image=image)))
    compat = InstallOptions(image=image, compat_argocd=True)
    files["install-argocd-compat.yaml"] = _HEADER + to_yaml(manifests(compat))
    return files


def write(folder: Path) -> list[Path]:
    written = []
    for relative, content in deploy_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy")):
        print(path)
