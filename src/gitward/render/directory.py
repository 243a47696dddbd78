"""The directory renderer: every .yaml, .yml and .json file under an app's path, as objects.

All problems are collected before anything is returned, so a repository with
one bad file yields an error listing every problem and never a partial list of
objects (a partial list would look like deletions to the sync engine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitward.model import DirectorySource
from gitward.render.globs import GlobError, matches
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.validate import (
    DEFAULT_MAX_FILE_BYTES,
    Limits,
    Placed,
    check_duplicates,
    read_manifest_file,
)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
__all__ = ["DEFAULT_MAX_FILE_BYTES", "MANIFEST_SUFFIXES", "Limits", "render_directory"]


def render_directory(
    root: Path, path: str = "", spec: DirectorySource | None = None, limits: Limits | None = None
) -> list[dict[str, Any]]:
    """The objects declared under `root/path`, ordered by file path, then position in the file.

    `root` is the repository's top: nothing outside it is read, even through a symlink.
    Raises ValidationFailed listing every problem found.
    """
    spec = spec or DirectorySource()
    limits = limits or Limits()
    problems: list[Problem] = []
    root = root.resolve()
    # Sorted by repository path, so the order never depends on the file system.
    files = sorted(_manifest_files(root, path, spec, problems), key=lambda f: f[1])
    placed: list[Placed] = []
    for file, shown in files:
        placed.extend(read_manifest_file(file, shown, limits, problems))
    check_duplicates(placed, problems)
    if problems:
        raise ValidationFailed(problems)
    return [p.obj for p in placed]


def _manifest_files(
    root: Path, path: str, spec: DirectorySource, problems: list[Problem]
) -> Iterator[tuple[Path, str]]:
    base = (root / path).resolve() if path not in ("", ".") else root
    if not _inside(base, root):
        problems.append(Problem(path, 0, 0, "path leaves the repository"))
        return
    if not base.is_dir():
        problems.append(Problem(path or ".", 0, 0, "no such directory in the repository"))
        return
    for pattern in (spec.include, spec.exclude):
        try:
            if pattern:
                matches(pattern, "")
        except GlobError as problem:
            problems.append(Problem(path or ".", 0, 0, str(problem)))
            return
    for folder, dirs, names in os.walk(base):
        here = Path(folder)
        dirs.sort()
        if not spec.recurse:
            dirs.clear()
        for name in list(dirs):
            # A symlinked folder is never followed (loops), but one that escapes is still reported.
            if (here / name).is_symlink():
                dirs.remove(name)
                _check_link(root, here / name, problems)
        for name in sorted(names):
            if not name.endswith(MANIFEST_SUFFIXES):
                continue
            file = here / name
            relative = file.relative_to(base).as_posix()
            if spec.include and not matches(spec.include, relative):
                continue
            if spec.exclude and matches(spec.exclude, relative):
                continue
            if file.is_symlink() and not _check_link(root, file, problems):
                continue
            yield file, file.relative_to(root).as_posix()


def _check_link(root: Path, link: Path, problems: list[Problem]) -> bool:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        problems.append(Problem(link.relative_to(root).as_posix(), 0, 0, "broken or looping symlink"))
        return False
    if not _inside(target, root):
        problems.append(
            Problem(link.relative_to(root).as_posix(), 0, 0, "symlink points outside the repository")
        )
        return False
    return True


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)
