"""Reading one manifest text into documents, each with the line and column where it starts.

YAML goes through PyYAML's C parser (CSafeLoader). Before any node is built,
a pass over the parser's events measures what the text expands to (see
expansion.py): aliases share nodes, so a "billion laughs" text is small as a
graph and huge once anything copies or serialises it. A text past a limit
(bytes, nodes, depth) is refused at the event that crossed it, and the texts
of one render share a budget (`Limits.for_one_render`).

A mapping that names a key twice is refused, as Kubernetes' strict decoding
and Argo CD do: with "last one wins", a reviewer would read one value and the
cluster get another. JSON objects are held to the same rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from gitward.render.expansion import Position, measure
from gitward.render.problems import Problem

DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_EXPANDED_NODES = 1_000_000
DEFAULT_MAX_EXPANDED_BYTES = 32 * 1024 * 1024
# Far deeper than any real object (a CRD's schema stays well under 100); shallow enough that
# Python's recursive walks (json.dumps, copy.deepcopy, the diff) stay under its recursion limit.
DEFAULT_MAX_DEPTH = 200
DEFAULT_MAX_RENDER_NODES = 2_000_000
DEFAULT_MAX_RENDER_BYTES = 64 * 1024 * 1024

_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"


@dataclass
class Budget:
    """What one render has read so far: every file and output it parsed, together."""

    nodes: int = 0
    size: int = 0


@dataclass(frozen=True)
class Limits:
    """What one file, or one renderer's output, may cost to read, and one render in all.

    `max_expanded_*` bound the whole text once aliases are expanded (see
    expansion.py), counted over all its documents together; `max_depth`
    bounds how deeply collections nest. `max_render_*` bound the same counts
    over every text one render reads (a repository of a hundred files, each
    just under the limits, must not add up to gigabytes); they apply to
    Limits made by `for_one_render()`, which the Renderer does for each render.
    """

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_expanded_nodes: int = DEFAULT_MAX_EXPANDED_NODES
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_render_nodes: int = DEFAULT_MAX_RENDER_NODES
    max_render_bytes: int = DEFAULT_MAX_RENDER_BYTES
    budget: Budget | None = field(default=None, compare=False, repr=False)

    def for_one_render(self) -> Limits:
        """These limits with a fresh budget, shared by every read of one render."""
        return replace(self, budget=Budget())

    def spend(self, nodes: int, size: int) -> str | None:
        """Count one text against the render's budget; why it goes over, if it does."""
        budget = self.budget
        if budget is None:
            return None
        budget.nodes += nodes
        budget.size += size
        over = "with the files read before it, this render's YAML holds more than"
        if budget.nodes > self.max_render_nodes:
            return f"{over} {self.max_render_nodes:,} nodes"
        if budget.size > self.max_render_bytes:
            return f"{over} {self.max_render_bytes:,} bytes"
        return None


class _Refused(Exception):
    def __init__(self, message: str, mark: Position | None) -> None:
        super().__init__(message)
        self.mark = mark


class Loader(yaml.CSafeLoader):
    """CSafeLoader that reads YAML the way Kubernetes does: a timestamp stays a string, a key is unique.

    PyYAML turns `2024-01-01` into a date, which JSON cannot carry and which
    Kubernetes (sigs.k8s.io/yaml) never does; `!!binary` likewise stays its text.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # Per mapping node, how many of its pairs were written in it (the rest come from `<<` merges).
        # Recorded before PyYAML's flattening rewrites the node, which may happen before the node
        # itself is constructed (when an alias to it is merged first).
        self._own_pairs: dict[int, int] = {}

    def construct_document(self, node: Node) -> Any:
        try:
            return super().construct_document(node)
        finally:
            self._own_pairs.clear()

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        # YAML 1.1's base 60 numbers (`1:20` is 80): Kubernetes reads them as strings, and
        # converting a long one takes time quadratic in its length.
        if tag in (_INT, _FLOAT) and ":" in value:
            return _STR
        return tag

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, LookupError, ArithmeticError):
            # PyYAML's constructors raise bare errors for text their tag cannot hold
            # (`!!int x`, `!!bool maybe`, an integer of 5,000 digits): a problem at the node.
            kind = node.tag.rpartition(":")[2] if node.tag.startswith("tag:yaml.org,2002:") else "tagged"
            raise _Refused(f"malformed YAML: not a valid {kind} value", node.start_mark) from None

    def flatten_mapping(self, node: MappingNode) -> None:
        self._own_pairs.setdefault(id(node), sum(1 for key, _ in node.value if key.tag != _MERGE))
        super().flatten_mapping(node)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, "expected a mapping", node.start_mark)
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                where = node.start_mark
                raise ConstructorError(
                    "while constructing a mapping", where, "found unhashable key", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        # Text keys all distinct (the usual case) cannot collide; otherwise look closer.
        if len(mapping) != len(node.value) or not all(type(key) is str for key in mapping):
            self._check_unique(node, mapping)
        return mapping

    def _check_unique(self, node: MappingNode, mapping: dict[Any, Any]) -> None:
        # Keys brought in by a merge may be overridden (that is what merges are for); written ones not.
        own_from = len(node.value) - self._own_pairs[id(node)]
        first: dict[object, Node] = {}
        for key_node, _ in node.value[own_from:]:
            name = _as_json_key(self.construct_object(key_node))
            seen = first.setdefault(name, key_node)
            if seen is not key_node:
                mark = seen.start_mark
                raise _Refused(
                    f"duplicate key {_shown(name)} (first at line {mark.line + 1}, column {mark.column + 1})",
                    key_node.start_mark,
                )


Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def _as_text(loader: Loader, node: Node) -> object:
    return loader.construct_yaml_str(node)


def _number(loader: Loader, node: ScalarNode) -> object:
    if ":" in node.value:  # an explicit `!!int 1:20`: base 60 is not read (see Loader.resolve)
        raise ValueError("base 60")
    if node.tag == _INT:
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


def _set_as_mapping(loader: Loader, node: Node) -> object:
    # A Python set cannot become JSON; Kubernetes reads `!!set {a, b}` as the mapping {a: null, b: null}.
    return loader.construct_mapping(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
Loader.add_constructor("tag:yaml.org,2002:binary", _as_text)
Loader.add_constructor("tag:yaml.org,2002:set", _set_as_mapping)
Loader.add_constructor(_INT, _number)
Loader.add_constructor(_FLOAT, _number)


def _as_json_key(key: object) -> object:
    """The key as it will be in JSON, where `1` and `"1"`, or `true` and `"true"`, are the same."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return key


def _shown(name: object) -> str:
    # A key, never a value, and cut short: the message must not carry a file's content.
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Document:
    value: object
    line: int
    column: int
    node: Node | None  # kept so a `kind: List`'s items can be placed precisely


DEFAULT_LIMITS = Limits()


def read_documents(
    text: str, file: str, *, json_only: bool = False, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Document], list[Problem]]:
    """The documents of `text` (named `file` in problems), or the problems that refuse it."""
    # Once a render is over its budget, the rest of its texts are refused unread.
    over_budget = limits.spend(0, 0)
    if over_budget is None and json_only:
        # JSON has no aliases: its size is its length, its values about one per separator.
        over_budget = limits.spend(sum(text.count(c) for c in ",[{") + 1, len(text))
    if over_budget is not None:
        return [], [Problem(file, 0, 0, over_budget)]
    if json_only:
        return _read_json(text, file, limits.max_depth)
    overflow, nodes, size = measure(
        text, limits.max_expanded_nodes, limits.max_expanded_bytes, limits.max_depth
    )
    if overflow is not None:
        return [], [_problem(file, overflow.mark, overflow.message)]
    over_budget = limits.spend(nodes, size)
    if over_budget is not None:
        return [], [Problem(file, 0, 0, over_budget)]
    documents: list[Document] = []
    loader = Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            value = loader.construct_document(node)
            documents.append(Document(value, node.start_mark.line + 1, node.start_mark.column + 1, node))
    except yaml.MarkedYAMLError as problem:
        # problem/context are the parser's generic descriptions; never the text itself (it may be a Secret).
        what = " ".join(p for p in (problem.context, problem.problem) if p) or "malformed YAML"
        return [], [_problem(file, problem.problem_mark or problem.context_mark, f"malformed YAML: {what}")]
    except yaml.YAMLError as problem:
        return [], [Problem(file, 0, 0, f"malformed YAML: {type(problem).__name__}")]
    except _Refused as refused:
        return [], [_problem(file, refused.mark, str(refused))]
    except RecursionError:
        return [], [Problem(file, 0, 0, "malformed YAML: nested too deeply")]
    finally:
        loader.dispose()
    return documents, []


def _problem(file: str, mark: Position | None, message: str) -> Problem:
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return Problem(file, line, column, message)


# JSON ------------------------------------------------------------------------------------------


class _DuplicateKey(Exception):
    pass


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey
    return found


def _read_json(text: str, file: str, max_depth: int) -> tuple[list[Document], list[Problem]]:
    try:
        value = json.loads(text, object_pairs_hook=_strict_object)
    except json.JSONDecodeError as problem:
        return [], [Problem(file, problem.lineno, problem.colno, f"malformed JSON: {problem.msg}")]
    except RecursionError:
        return [], [Problem(file, 0, 0, "malformed JSON: nested too deeply")]
    except _DuplicateKey:
        return [], [_json_duplicate(text, file)]
    if _depth_over(value, max_depth):
        return [], [Problem(file, 0, 0, f"collections nested more than {max_depth:,} levels deep")]
    return [Document(value, 1, 1, None)], []


def _depth_over(value: object, max_depth: int) -> bool:
    # Iterative: the point is values too deep for Python's recursive walks.
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


# The tokens of JSON text that is known to be valid: strings, punctuation, other scalars, space.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+|\s+', re.DOTALL)


def _json_duplicate(text: str, file: str) -> Problem:
    """Where the first repeated key of (otherwise valid) JSON `text` is; only run once one was found."""
    # Per open container: the keys seen so far and where (an object), or None (an array).
    stack: list[dict[str, int] | None] = []
    expect_key = False
    for token in _JSON_TOKEN.finditer(text):
        first = token.group()[0]
        if first == "{":
            stack.append({})
            expect_key = True
        elif first == "[":
            stack.append(None)
            expect_key = False
        elif first in "}]":
            stack.pop()
            expect_key = False
        elif first == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif first == '"' and expect_key:
            expect_key = False
            keys = stack[-1] if stack else None
            if keys is None:
                continue
            key = json.loads(token.group())
            seen = keys.setdefault(key, token.start())
            if seen != token.start():
                line, column = _line_column(text, seen)
                at_line, at_column = _line_column(text, token.start())
                message = f"duplicate key {_shown(key)} (first at line {line}, column {column})"
                return Problem(file, at_line, at_column, message)
    return Problem(file, 0, 0, "duplicate key in a JSON object")


def _line_column(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1
