"""Reading one manifest file into documents, each with the line and column where it starts.

YAML goes through PyYAML's C parser (CSafeLoader). The composed node graph is
checked before any Python object is built: aliases share nodes, so a "billion
laughs" file is small as a graph and huge once expanded. We count the nodes
the expansion would produce (memoised per node, so the count itself is cheap)
and refuse the file past a bound, and refuse recursive aliases outright.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from gitward.render.problems import Problem

DEFAULT_MAX_EXPANDED_NODES = 1_000_000


class Loader(yaml.CSafeLoader):
    """CSafeLoader that reads YAML the way Kubernetes does: a timestamp stays a string.

    PyYAML turns `2024-01-01` into a date, which JSON cannot carry and which
    Kubernetes (sigs.k8s.io/yaml) never does; `!!binary` likewise stays its text.
    """


Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def _as_text(loader: Loader, node: Node) -> object:
    return loader.construct_yaml_str(node)


Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
Loader.add_constructor("tag:yaml.org,2002:binary", _as_text)


@dataclass(frozen=True)
class Document:
    value: object
    line: int
    column: int
    node: Node | None  # kept so a `kind: List`'s items can be placed precisely


class _AliasBomb(Exception):
    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.node = node


def read_documents(
    text: str, file: str, *, json_only: bool = False, max_expanded: int = DEFAULT_MAX_EXPANDED_NODES
) -> tuple[list[Document], list[Problem]]:
    if json_only:
        return _read_json(text, file)
    documents: list[Document] = []
    # An alias needs an anchor (`&`) and a reference (`*`); without both characters the
    # expansion check can be skipped, which halves the cost of a typical manifest.
    may_alias = "&" in text and "*" in text
    loader = Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                _check_expansion(node, max_expanded)
            value = loader.construct_document(node)
            documents.append(Document(value, node.start_mark.line + 1, node.start_mark.column + 1, node))
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        # problem/context are the parser's generic descriptions; never the text itself (it may be a Secret).
        what = " ".join(p for p in (problem.context, problem.problem) if p) or "malformed YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return [], [Problem(file, line, column, f"malformed YAML: {what}")]
    except yaml.YAMLError as problem:
        return [], [Problem(file, 0, 0, f"malformed YAML: {type(problem).__name__}")]
    except _AliasBomb as bomb:
        mark = bomb.node.start_mark
        return [], [Problem(file, mark.line + 1, mark.column + 1, str(bomb))]
    finally:
        loader.dispose()
    return documents, []


def _read_json(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as problem:
        return [], [Problem(file, problem.lineno, problem.colno, f"malformed JSON: {problem.msg}")]
    except RecursionError:
        return [], [Problem(file, 0, 0, "malformed JSON: nested too deeply")]
    return [Document(value, 1, 1, None)], []


def _check_expansion(root: Node, limit: int) -> None:
    """Raise _AliasBomb if expanding every alias under `root` would make more than `limit` nodes."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: deep documents must not hit Python's recursion limit.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > limit:
                raise _AliasBomb(f"YAML aliases expand to more than {limit:,} nodes (an alias bomb?)", node)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _AliasBomb("a YAML alias refers to itself (recursive structure)", node)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _AliasBomb("a YAML alias refers to itself (recursive structure)", child)
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
