"""Paths inside a repository's read-only tree, and writable stand-ins for the parts a tool must edit.

Trees from the repository cache are read-only and shared by every app, so a
tool that writes (`kustomize edit`, `helm dependency build`) works in a
*shadow*: a scratch folder laid out like the repository where the folders
that get written are real copies, their ancestors are real folders, and every
other entry is a symlink to the original. Building it costs one entry per
sibling along the path plus the copied folders, not a copy of the repository.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from gitward.render.problems import Problem


def inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def shown(path: Path, root: Path) -> str:
    """A path as problems name it: relative to the repository, "." for its top."""
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
    return relative or "."


def resolve_within(root: Path, base: Path, relative: str) -> tuple[Path | None, str]:
    """`base/relative` with symlinks resolved, if it exists inside `root`; else (None, why).

    `root` is resolved too: compared with a path that still holds a symlink or `..`, a target
    outside it could pass as inside."""
    root = root.resolve()
    candidate = base / relative
    try:
        target = candidate.resolve(strict=True)
    except FileNotFoundError:
        # Say "leaves" rather than "missing" when the path would leave even before existing.
        lexical = Path(os.path.normpath(candidate))
        if not inside(lexical, root):
            return None, "leaves the repository"
        return None, "no such file or folder in the repository"
    except (OSError, RuntimeError):
        return None, "is a broken or looping symlink"
    if not inside(target, root):
        return None, "leaves the repository"
    return target, ""


def escaping_links(folder: Path, root: Path) -> list[Problem]:
    """Every symlink under `folder` that resolves outside `root` (or nowhere).

    A link to a folder inside `root` is followed (helm reads through it), so a link out that sits
    in a folder reached that way is found too; each real folder is walked once, so loops end."""
    problems: list[Problem] = []
    top = root.resolve()
    walked: set[Path] = set()
    seen: set[Path] = set()  # each link once, however many ways lead to it
    pending = [folder]
    while pending:
        start = pending.pop()
        real = start.resolve()
        if real in walked:
            continue
        walked.add(real)
        for here, dirs, files in os.walk(start):
            for name in sorted(dirs + files):
                path = Path(here) / name
                if not path.is_symlink() or Path(here).resolve() / name in seen:
                    continue
                seen.add(Path(here).resolve() / name)
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    problems.append(Problem(shown(path, root), 0, 0, "broken or looping symlink"))
                    continue
                if not inside(target, top):
                    problems.append(Problem(shown(path, root), 0, 0, "symlink points outside the repository"))
                elif target.is_dir():
                    pending.append(path)
    return problems


def shadow(root: Path, work: Path, writable: Iterable[Path], *, link_files: bool = False) -> Path:
    """A stand-in for the tree `root` at `work` (which must not exist) in which `writable` folders are copies.

    With `link_files`, files in the copies are hard links (when the file system allows) instead of
    copies: only for tools that never write into existing files. Returns `work`.
    """
    wanted = {PurePosixPath(p.relative_to(root).as_posix()) for p in writable}
    ancestors = {parent for path in wanted for parent in path.parents}
    copy = _link_or_copy if link_files else _copy

    def build(relative: PurePosixPath) -> None:
        source = root / relative
        target = work / relative
        if relative in wanted:
            shutil.copytree(source, target, symlinks=True, copy_function=copy)
            _writable_folders(target)
            return
        target.mkdir()
        for entry in sorted(e.name for e in source.iterdir()):
            child = relative / entry
            if child in wanted or child in ancestors:
                build(child)
            else:
                (target / entry).symlink_to(source / entry)

    build(PurePosixPath("."))
    return work


def _copy(source: str, target: str) -> object:
    # Not copy2: the tree's read-only mode must not follow the copy.
    return shutil.copyfile(source, target, follow_symlinks=False)


def _link_or_copy(source: str, target: str) -> object:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as problem:
        if problem.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        return _copy(source, target)
    return target


def _writable_folders(top: Path) -> None:
    for here, dirs, _ in os.walk(top):
        for name in dirs:
            path = Path(here) / name
            if not path.is_symlink():
                with contextlib.suppress(OSError):
                    path.chmod(0o755)
    top.chmod(0o755)


def replace_file(path: Path, text: str) -> None:
    """Write `path` as a new file (never through an existing hard link to the read-only tree)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    path.write_text(text)
