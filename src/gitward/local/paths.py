"""Where gitward keeps built tools and local clusters, outside any repository."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Built toolchains: `$GITWARD_CACHE`, else `~/.cache/gitward`."""
    explicit = os.environ.get("GITWARD_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitward"


def clusters_root() -> Path:
    """Running local clusters: `$GITWARD_CLUSTERS`, else `<cache>/clusters`."""
    explicit = os.environ.get("GITWARD_CLUSTERS")
    return Path(explicit) if explicit else cache_root() / "clusters"
