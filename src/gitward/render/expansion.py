"""How big a YAML text becomes once parsed, measured from the parser's events before any node is built.

Aliases let a small text stand for a huge value (a "billion laughs" file):
PyYAML shares the anchored object, so the Python value stays small, but every
later step that copies or serialises it (the render cache, the diff, the
apply) pays for the full expansion. A bound on nodes alone misses the cheap
version of the attack: a 1 KiB scalar repeated a million times is few nodes
and a gigabyte of JSON. So we count nodes, bytes and depth, for the whole text (documents add
up: each may hold its own bomb), in one pass over the event stream, with
memory proportional to the number of anchors and the nesting depth only:
- nodes: one per scalar, sequence and mapping, an alias counting the nodes
  of what it refers to;
- bytes: about the size of the value as compact JSON (a scalar's length
  plus quotes and a separator, two brackets and a separator per
  collection), an alias again counting what it refers to;
- depth: how many collections are nested, an alias adding the height of
  what it refers to (Python code that walks a value recursively, json.dumps
  and copy.deepcopy among them, fails past about a thousand levels).

The first event that takes a count past its limit is where the text is
refused: for a bomb, the alias that crossed the line. The pass costs about a
sixth of the parse it guards, and needs no composed node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    ScalarEvent,
)

# Quotes and a separator around a scalar; brackets and a separator around a collection.
_SCALAR_OVERHEAD = 3
_COLLECTION_OVERHEAD = 3


class Position(Protocol):
    """Where an event or node is (0-based), as both PyYAML's Python and C parsers give it."""

    line: int
    column: int


@dataclass(frozen=True)
class Overflow:
    """Where and why a text was refused."""

    message: str
    mark: Position | None


@dataclass(slots=True)
class _Open:
    """A collection being read: its anchor, the counts before it, and the deepest level reached in it."""

    anchor: str | None
    nodes: int
    size: int
    deepest: int


@dataclass(slots=True)
class _Counts:
    nodes: int = 0
    size: int = 0


def measure(text: str, max_nodes: int, max_bytes: int, max_depth: int) -> tuple[Overflow | None, int, int]:
    """The first limit `text` crosses once expanded (or None), and its nodes and bytes as counted.

    A text that does not parse gives None: the parse that builds the
    documents reports it, with its position.
    """
    counts = _Counts()
    parser = yaml.CSafeLoader(text)
    try:
        overflow = _measure(parser, max_nodes, max_bytes, max_depth, counts)
    except yaml.YAMLError:
        overflow = None
    finally:
        parser.dispose()
    return overflow, counts.nodes, counts.size


def _measure(
    parser: yaml.CSafeLoader, max_nodes: int, max_bytes: int, max_depth: int, counts: _Counts
) -> Overflow | None:
    nodes = 0
    size = 0
    open_: list[_Open] = []
    opened: set[str] = set()
    # Per anchor of the current document: its nodes, bytes and height (nesting levels) once expanded.
    anchors: dict[str, tuple[int, int, int]] = {}
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, ScalarEvent):
                nodes += 1
                size += len(event.value) + _SCALAR_OVERHEAD
                if event.anchor is not None:
                    anchors[event.anchor] = (1, len(event.value) + _SCALAR_OVERHEAD, 0)
            elif isinstance(event, AliasEvent):
                anchor = event.anchor or ""
                if anchor in opened:
                    return Overflow("a YAML alias refers to itself (recursive structure)", event.start_mark)
                more_nodes, more_bytes, height = anchors.get(anchor, (0, 0, 0))
                nodes += more_nodes
                size += more_bytes
                reach = len(open_) + height
                if open_:
                    open_[-1].deepest = max(open_[-1].deepest, reach)
                if nodes > max_nodes:
                    return Overflow(f"YAML aliases expand to more than {max_nodes:,} nodes", event.start_mark)
                if size > max_bytes:
                    message = f"YAML aliases expand to more than {max_bytes:,} bytes (an alias bomb?)"
                    return Overflow(message, event.start_mark)
                if reach > max_depth:
                    message = f"YAML aliases nest collections more than {max_depth:,} levels deep"
                    return Overflow(message, event.start_mark)
                continue
            elif isinstance(event, CollectionStartEvent):
                nodes += 1
                size += _COLLECTION_OVERHEAD
                level = len(open_) + 1
                if level > max_depth:
                    return Overflow(
                        f"collections nested more than {max_depth:,} levels deep", event.start_mark
                    )
                open_.append(_Open(event.anchor, nodes - 1, size - _COLLECTION_OVERHEAD, level))
                if event.anchor is not None:
                    opened.add(event.anchor)
            elif isinstance(event, CollectionEndEvent):
                level = len(open_)
                done = open_.pop()
                if open_:
                    open_[-1].deepest = max(open_[-1].deepest, done.deepest)
                if done.anchor is not None:
                    opened.discard(done.anchor)
                    anchors[done.anchor] = (nodes - done.nodes, size - done.size, done.deepest - level + 1)
                continue
            elif isinstance(event, DocumentStartEvent):
                anchors.clear()  # an anchor is valid only in its own document
                continue
            else:
                continue
            if nodes > max_nodes:
                return Overflow(f"the YAML holds more than {max_nodes:,} nodes", event.start_mark)
            if size > max_bytes:
                return Overflow(f"the YAML holds more than {max_bytes:,} bytes of values", event.start_mark)
        return None
    finally:
        counts.nodes, counts.size = nodes, size
