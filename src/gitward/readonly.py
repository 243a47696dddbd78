"""Read-only trees on disk: how the Git and chart caches keep what they hand out unchanged.

Used by more than one layer (gitward.source, gitward.render), so it lives
beside them and imports nothing from gitward.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path


def make_read_only(root: Path) -> None:
    """Drop every write bit below `root` (links are left alone: their targets are not ours)."""
    for folder, dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(stat.S_IMODE(path.lstat().st_mode) & 0o555)
        for name in dirs:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(0o555)


def remove_tree(path: Path) -> None:
    """Delete a tree that may be read-only; a missing one is fine."""
    if not path.exists():
        return
    for folder, dirs, _ in os.walk(path):
        for name in dirs:
            with contextlib.suppress(OSError):
                (Path(folder) / name).chmod(0o755)
    path.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)
