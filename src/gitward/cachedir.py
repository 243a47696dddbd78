"""Where gitward keeps what it can rebuild: toolchains, Git mirrors, charts, local clusters.

One root for every layer, outside any repository; it imports nothing from gitward.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """`$GITWARD_CACHE`, else `$XDG_CACHE_HOME/gitward`, else `~/.cache/gitward`."""
    explicit = os.environ.get("GITWARD_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitward"
