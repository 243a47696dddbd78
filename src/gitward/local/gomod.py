"""Reading the parts of a go.mod that the Kubernetes wrapper module needs."""

from __future__ import annotations

import re

# `k8s.io/api => ./staging/src/k8s.io/api`, alone or inside a replace block.
_STAGING = re.compile(r"^\s*(?:replace\s+)?(k8s\.io/[^\s]+)\s+=>\s+\./staging/", re.MULTILINE)
_GO_LINE = re.compile(r"^go\s+1\.(\d+)(?:\.\d+)?\s*$", re.MULTILINE)


def staging_replaces(gomod_text: str) -> list[str]:
    """The modules a Kubernetes release takes from its own staging tree."""
    return _STAGING.findall(gomod_text)


def staging_version(kubernetes_version: str) -> str:
    """Staging modules are published as v0.N.M for Kubernetes v1.N.M."""
    match = re.fullmatch(r"v1\.(\d+)\.(\d+)", kubernetes_version)
    if not match:
        raise ValueError(f"not a Kubernetes release version: {kubernetes_version!r}")
    return f"v0.{match[1]}.{match[2]}"


def go_minor(gomod_text: str) -> str:
    """The minor Go version a go.mod asks for, e.g. '26' for `go 1.26.0`."""
    match = _GO_LINE.search(gomod_text)
    if not match:
        raise ValueError("the go.mod names no Go version")
    return match[1]
