"""Glob patterns written by tenants, matched without backtracking.

A regex made from a glob (`*a*a*a*a*b` becomes `.*a.*a.*a.*a.*b`) backtracks
exponentially on a text that almost matches, and holds the GIL while it does.
Here a pattern is compiled into a small automaton (one node per pattern
item) and a text is matched by walking the set of nodes it could be in, one
character at a time: the work is at most (text length) x (pattern length),
whatever the pattern. Sets seen before are remembered per pattern (a lazy
DFA), so the usual file name costs one dictionary look-up per character.

The syntax is the union of what the callers need:
- `*` any run of characters, `?` one character; with a separator (`/` for
  paths and repository URLs) neither crosses it, and `**` does;
- `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]`: one character in (or not in) the
  class, never the separator; a `]` right after the opening is a member;
  a `[` with no closing `]` is an ordinary character;
- `{a,b}` alternatives, nested; `\\x` is the character x.
With `zero_dirs`, `**/` also matches no folder at all (`a/**/b` matches `a/b`).

A pattern is checked when compiled: a reversed range (`[z-a]`), an
unbalanced brace, too deep a nesting, too many alternatives or too long a
pattern raise GlobError, whose message names the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple, cast

MAX_PATTERN = 1024
MAX_ALTERNATIVES = 256
MAX_DEPTH = 8
# Per compiled pattern: how many (state set, character) steps are remembered (compiled patterns
# are cached too, so this bounds the memory a tenant's patterns and file names can pin).
_MAX_REMEMBERED = 256

# Node kinds of the automaton.
_END, _CHAR, _ANY, _CLASS, _LOOP, _SPLIT = range(6)

# Items of a parsed pattern (a sequence of these; alternatives hold sequences).
_Item = tuple[object, ...]


class GlobError(ValueError):
    """A pattern that cannot be used; the message says why and quotes it."""


@dataclass(frozen=True)
class _Class:
    negated: bool
    members: frozenset[str]
    ranges: tuple[tuple[str, str], ...]

    def has(self, ch: str) -> bool:
        inside = ch in self.members or any(lo <= ch <= hi for lo, hi in self.ranges)
        return inside != self.negated


class _Node(NamedTuple):
    kind: int
    out: tuple[int, ...] = ()  # the next node; for _SPLIT, every alternative
    char: str = ""  # _CHAR
    members: _Class | None = None  # _CLASS
    bounded: bool = False  # _LOOP: stops at the separator


@dataclass(eq=False)
class Glob:
    """A compiled pattern; `match` is safe for any text, in time linear in its length."""

    pattern: str
    separator: str
    _nodes: tuple[_Node, ...]
    _start: frozenset[int]
    _steps: dict[tuple[frozenset[int], str], frozenset[int]] = field(default_factory=dict, repr=False)

    def match(self, text: str) -> bool:
        """True if the whole of `text` matches."""
        states = self._start
        for ch in text:
            if not states:
                return False
            known = self._steps.get((states, ch))
            if known is None:
                known = self._step(states, ch)
                if len(self._steps) < _MAX_REMEMBERED:
                    self._steps[(states, ch)] = known
            states = known
        return _END in states

    def _step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        nodes = self._nodes
        crossing = ch == self.separator
        reached: list[int] = []
        for index in states:
            node = nodes[index]
            kind = node.kind
            if kind == _LOOP:
                if not (crossing and node.bounded):
                    reached.append(index)
            elif kind == _CHAR:
                if node.char == ch:
                    reached.extend(node.out)
            elif kind == _ANY:
                if not crossing:
                    reached.extend(node.out)
            elif kind == _CLASS and not crossing and node.members is not None and node.members.has(ch):
                reached.extend(node.out)
        return _closure(nodes, reached)


def _closure(nodes: tuple[_Node, ...], seeds: list[int]) -> frozenset[int]:
    """The nodes reachable from `seeds` without reading a character."""
    seen: set[int] = set()
    todo = list(seeds)
    while todo:
        index = todo.pop()
        if index in seen:
            continue
        seen.add(index)
        node = nodes[index]
        if node.kind in (_SPLIT, _LOOP):
            todo.extend(node.out)
    return frozenset(seen)


@lru_cache(maxsize=1024)
def compile_glob(pattern: str, *, separator: str = "/", zero_dirs: bool = False) -> Glob:
    """`pattern` compiled; `separator` "" lets every wildcard match any character. Raises GlobError."""
    if len(pattern) > MAX_PATTERN:
        raise GlobError(f"pattern is longer than {MAX_PATTERN} characters")
    parser = _Parser(pattern, zero_dirs=zero_dirs and bool(separator), separator=separator)
    items = parser.sequence(top=True)
    nodes: list[_Node] = [_Node(_END)]
    entry = _build(items, 0, nodes, bool(separator))
    return Glob(pattern, separator, tuple(nodes), _closure(tuple(nodes), [entry]))


def check_glob(pattern: str, *, separator: str = "/", zero_dirs: bool = False) -> None:
    """Raise GlobError if `pattern` cannot be compiled."""
    compile_glob(pattern, separator=separator, zero_dirs=zero_dirs)


def _build(items: list[_Item], nxt: int, nodes: list[_Node], bounded: bool) -> int:
    """Add the nodes of `items` (back to front, each pointing at what follows); return the entry node."""

    def add(node: _Node) -> int:
        nodes.append(node)
        return len(nodes) - 1

    for item in reversed(items):
        what = item[0]
        if what == "char":
            nxt = add(_Node(_CHAR, (nxt,), char=cast("str", item[1])))
        elif what == "any":
            nxt = add(_Node(_ANY, (nxt,)))
        elif what == "class":
            nxt = add(_Node(_CLASS, (nxt,), members=cast("_Class", item[1])))
        elif what == "star":
            nxt = add(_Node(_LOOP, (nxt,), bounded=bounded))  # stops at the separator, if there is one
        elif what == "dstar":
            nxt = add(_Node(_LOOP, (nxt,)))
        elif what == "dirs":  # `**/`: any folders, or none
            slash = add(_Node(_CHAR, (nxt,), char="/"))
            nxt = add(_Node(_SPLIT, (add(_Node(_LOOP, (slash,))), nxt)))
        else:  # "alt"
            options = cast("list[list[_Item]]", item[1])
            nxt = add(_Node(_SPLIT, tuple(_build(option, nxt, nodes, bounded) for option in options)))
    return nxt


class _Parser:
    def __init__(self, pattern: str, *, zero_dirs: bool, separator: str) -> None:
        self.pattern = pattern
        self.zero_dirs = zero_dirs
        self.separator = separator
        self.i = 0
        self.depth = 0
        self.alternatives = 0

    def fail(self, why: str) -> GlobError:
        return GlobError(f"{why} in pattern {self.pattern!r}")

    def sequence(self, top: bool) -> list[_Item]:
        p = self.pattern
        out: list[_Item] = []
        while self.i < len(p):
            ch = p[self.i]
            if ch == "*":
                if p.startswith("**", self.i):
                    self.i += 2
                    if self.zero_dirs and p.startswith("/", self.i):
                        self.i += 1
                        out.append(("dirs",))
                    else:
                        out.append(("dstar",))
                    continue
                out.append(("star",))
            elif ch == "?":
                out.append(("any",))
            elif ch == "[":
                found = self.char_class()
                if found is not None:
                    out.append(("class", found))
                    continue
                out.append(("char", ch))
            elif ch == "{":
                out.append(("alt", self.group()))
                continue
            elif ch in ",}" and not top:
                return out
            elif ch == "}":
                raise self.fail("unbalanced '}'")
            elif ch == "\\" and self.i + 1 < len(p):
                self.i += 1
                out.append(("char", p[self.i]))
            else:
                out.append(("char", ch))
            self.i += 1
        return out

    def group(self) -> list[list[_Item]]:
        """From a `{` to its `}`: the alternatives."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"braces nested deeper than {MAX_DEPTH}")
        options: list[list[_Item]] = []
        self.i += 1
        while True:
            options.append(self.sequence(top=False))
            self.alternatives += 1
            if self.alternatives > MAX_ALTERNATIVES:
                raise self.fail(f"more than {MAX_ALTERNATIVES} alternatives")
            if self.i >= len(self.pattern):
                raise self.fail("unclosed '{'")
            self.i += 1
            if self.pattern[self.i - 1] == "}":
                break
        self.depth -= 1
        return options

    def char_class(self) -> _Class | None:
        """From a `[` past its `]`; None (and nothing consumed) when no `]` closes it."""
        p = self.pattern
        i = self.i + 1
        negated = i < len(p) and p[i] in "!^"
        if negated:
            i += 1
        chars: list[tuple[str, bool]] = []  # (character, escaped)
        while i < len(p) and (p[i] != "]" or not chars):
            escaped = p[i] == "\\" and i + 1 < len(p)
            i += escaped
            chars.append((p[i], escaped))
            i += 1
        if i >= len(p):
            return None
        self.i = i + 1
        members: set[str] = set()
        ranges: list[tuple[str, str]] = []
        k = 0
        while k < len(chars):
            if k + 2 < len(chars) and chars[k + 1] == ("-", False):
                low, high = chars[k][0], chars[k + 2][0]
                if low > high:
                    raise self.fail(f"reversed range '{low}-{high}'")
                ranges.append((low, high))
                k += 3
            else:
                members.add(chars[k][0])
                k += 1
        return _Class(negated, frozenset(members), tuple(ranges))
