"""The checks every rendered object passes, whichever renderer produced it.

A file in the repository and a renderer's output stream go through the same
steps: parse (CSafeLoader, expansion bounded, no key twice), one object per document
(`kind: List` expanded), apiVersion, kind and metadata.name present, no object
twice. Messages carry positions and generic descriptions only, never the
text, so a Secret's values cannot leak through them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitward.model import ResourceKey
from gitward.render.documents import DEFAULT_MAX_FILE_BYTES, Document, Limits, read_documents
from gitward.render.problems import Problem

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "Limits",
    "Origin",
    "Placed",
    "check_duplicates",
    "objects",
    "objects_from_output",
    "read_file_documents",
    "read_manifest_file",
    "secret_values",
]


@dataclass(frozen=True)
class Placed:
    """An object and where it came from: a file position, or (line 0) a note such as a document index."""

    obj: dict[str, Any]
    file: str
    line: int
    column: int
    note: str = ""

    def where(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return f"{self.file} ({self.note})" if self.note else self.file


def read_manifest_file(file: Path, shown: str, limits: Limits, problems: list[Problem]) -> list[Placed]:
    """The objects of one .yaml/.yml/.json file; its problems are appended to `problems`."""
    documents = read_file_documents(file, shown, limits, problems)
    if documents is None:
        return []
    return [p for document in documents for p in objects(document, shown, problems)]


def read_file_documents(
    file: Path, shown: str, limits: Limits, problems: list[Problem]
) -> list[Document] | None:
    """The parsed documents of a file within the size limit, or None (with the problem recorded)."""
    try:
        size = file.stat().st_size
        if size > limits.max_file_bytes:
            problems.append(
                Problem(shown, 0, 0, f"file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}")
            )
            return None
        raw = file.read_bytes()
    except OSError as problem:
        problems.append(Problem(shown, 0, 0, f"cannot read: {problem.strerror}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as problem:
        problems.append(Problem(shown, 0, 0, f"not UTF-8 text (byte {problem.start})"))
        return None
    documents, found = read_documents(text, shown, json_only=file.suffix == ".json", limits=limits)
    if found:
        problems.extend(found)
        return None
    return documents


def objects(document: Document, file: str, problems: list[Problem]) -> Iterator[Placed]:
    """The objects one document declares (a `kind: List` gives its items), each checked."""
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
                yield Placed(item, file, line, column)
        return
    if _valid(value, file, document.line, document.column, problems):
        yield Placed(value, file, document.line, document.column)


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


def check_duplicates(placed: Iterable[Placed], problems: list[Problem]) -> None:
    first: dict[ResourceKey, Placed] = {}
    for item in placed:
        key = ResourceKey.of(item.obj)
        seen = first.get(key)
        if seen is None:
            first[key] = item
            continue
        where = f"{item.note}: " if item.note and not item.line else ""
        problems.append(
            Problem(
                item.file, item.line, item.column, f"{where}{key} is declared twice (first at {seen.where()})"
            )
        )


# Renderer output -------------------------------------------------------------------------------

Origin = Callable[[int, int], str]
"""(document index, line in the output) -> the file to name in a problem about that document."""


def objects_from_output(
    text: str, label: str, origin: Origin, limits: Limits, problems: list[Problem]
) -> list[Placed]:
    """The objects of a renderer's YAML stream, validated like files; positions are document indexes.

    `label` names the renderer ("helm template"); a problem reads e.g.
    `chart/templates/cm.yaml: document 3 of the helm template output: ConfigMap has no metadata.name`.
    """
    documents, found = read_documents(text, label, limits=limits)
    if found:
        # The stream itself is malformed: name the document the parser stopped in.
        for problem in found:
            index = _document_index(text, problem.line)
            problems.append(
                Problem(
                    origin(index, problem.line),
                    0,
                    0,
                    f"document {index + 1} of the {label} output: {problem.message}",
                )
            )
        return []
    placed: list[Placed] = []
    for index, document in enumerate(documents):
        note = f"document {index + 1} of the {label} output"
        file = origin(index, document.line)
        local: list[Problem] = []
        for item in objects(document, file, local):
            placed.append(Placed(item.obj, file, 0, 0, note))
        problems.extend(Problem(p.file, 0, 0, f"{note}: {p.message}") for p in local)
    return placed


def _document_index(text: str, line: int) -> int:
    """Which document (0-based) of a stream holds `line` (1-based), counting `---` separators."""
    index = 0
    for number, row in enumerate(text.splitlines(), 1):
        if number >= line:
            break
        if row.startswith("---") and (len(row) == 3 or row[3] in " \t"):
            index += 1
    # A stream that starts with `---` has no document before it.
    if text.startswith("---"):
        index = max(index - 1, 0)
    return index


# Values to keep out of messages ----------------------------------------------------------------


def secret_values(obj: Mapping[str, Any]) -> set[str]:
    """The values of a Secret (data as written and decoded, stringData), to redact from tool output."""
    if obj.get("kind") != "Secret":
        return set()
    found: set[str] = set()
    data = obj.get("data")
    if isinstance(data, Mapping):
        for value in data.values():
            if isinstance(value, str):
                found.add(value)
                with contextlib.suppress(binascii.Error, ValueError):
                    found.add(base64.b64decode(value, validate=True).decode("utf-8"))
    string_data = obj.get("stringData")
    if isinstance(string_data, Mapping):
        found.update(v for v in string_data.values() if isinstance(v, str))
    return {v for v in found if len(v.strip()) >= 4}
