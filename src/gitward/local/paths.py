"""Where gitward keeps built tools and local clusters, outside any repository."""

from __future__ import annotations

import os
from pathlib import Path

from gitward.cachedir import cache_root

__all__ = ["cache_root", "clusters_root"]


def clusters_root() -> Path:
    """Running local clusters: `$GITWARD_CLUSTERS`, else `<cache>/clusters`."""
    explicit = os.environ.get("GITWARD_CLUSTERS")
    return Path(explicit) if explicit else cache_root() / "clusters"
