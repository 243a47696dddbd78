"""The directory renderer: every .yaml, .yml and .json file under an app's path, as objects.

All problems are collected before anything is returned, so a repository with
one bad file yields an error listing every problem and never a partial list of
objects (a partial list would look like deletions to the sync engine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitward.model import DirectorySource, ResourceKey
from gitward.render.documents import DEFAULT_MAX_EXPANDED_NODES, Document, read_documents
from gitward.render.globs import GlobError, matches
from gitward.render.problems import Problem, ValidationFailed

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_expanded_nodes: int = DEFAULT_MAX_EXPANDED_NODES


@dataclass(frozen=True)
class _Placed:
    obj: dict[str, Any]
    file: str
    line: int
    column: int


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
    placed: list[_Placed] = []
    for file, shown in files:
        placed.extend(_read_file(root, file, shown, limits, problems))
    _check_duplicates(placed, problems)
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


def _read_file(root: Path, file: Path, shown: str, limits: Limits, problems: list[Problem]) -> list[_Placed]:
    try:
        size = file.stat().st_size
        if size > limits.max_file_bytes:
            problems.append(
                Problem(shown, 0, 0, f"file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}")
            )
            return []
        raw = file.read_bytes()
    except OSError as problem:
        problems.append(Problem(shown, 0, 0, f"cannot read: {problem.strerror}"))
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        problems.append(Problem(shown, 0, 0, f"not UTF-8 text (byte {problem.start})"))
        return []
    documents, found = read_documents(
        text, shown, json_only=file.suffix == ".json", max_expanded=limits.max_expanded_nodes
    )
    if found:
        problems.extend(found)
        return []
    placed: list[_Placed] = []
    for document in documents:
        placed.extend(_objects(document, shown, problems))
    return placed


def _objects(document: Document, file: str, problems: list[Problem]) -> Iterator[_Placed]:
    value = document.value
    if value is None:  # an empty document (`---` with nothing after it)
        return
    if not isinstance(value, dict):
        problems.append(Problem(file, document.line, document.column, "a manifest must be an object"))
        return
    if value.get("kind") == "List" and isinstance(value.get("items"), list):
        item_marks = _item_marks(document.node)
        for i, item in enumerate(value["items"]):
            line, column = item_marks[i] if i < len(item_marks) else (document.line, document.column)
            if not isinstance(item, dict):
                problems.append(Problem(file, line, column, f"items[{i}] of a List must be an object"))
                continue
            if _valid(item, file, line, column, problems):
                yield _Placed(item, file, line, column)
        return
    if _valid(value, file, document.line, document.column, problems):
        yield _Placed(value, file, document.line, document.column)


def _item_marks(node: Node | None) -> list[tuple[int, int]]:
    if not isinstance(node, MappingNode):
        return []
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == "items" and isinstance(value, SequenceNode):
            return [(item.start_mark.line + 1, item.start_mark.column + 1) for item in value.value]
    return []


def _valid(obj: Mapping[str, Any], file: str, line: int, column: int, problems: list[Problem]) -> bool:
    missing = [field for field in ("apiVersion", "kind") if not _text(obj.get(field))]
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not _text(metadata.get("name")):
        missing.append("metadata.name")
    if missing:
        kind = obj.get("kind") if _text(obj.get("kind")) else "object"
        problems.append(Problem(file, line, column, f"{kind} has no {', no '.join(missing)}"))
        return False
    return True


def _text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _check_duplicates(placed: list[_Placed], problems: list[Problem]) -> None:
    first: dict[ResourceKey, _Placed] = {}
    for item in placed:
        key = ResourceKey.of(item.obj)
        seen = first.get(key)
        if seen is None:
            first[key] = item
            continue
        problems.append(
            Problem(
                item.file,
                item.line,
                item.column,
                f"{key} is declared twice (first at {seen.file}:{seen.line}:{seen.column})",
            )
        )
