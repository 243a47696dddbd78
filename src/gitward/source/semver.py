"""Semantic versions and the range syntax Argo CD accepts in `targetRevision`.

Argo CD evaluates ranges with Go's Masterminds/semver v3, whose dialect differs
from npm's in small ways that matter here: `,` joins comparators like a space,
`||` separates alternatives, a missing part is a wildcard (`1.2` = `1.2.x`),
`~1` spans a major, and a prerelease only matches when its alternative names a
prerelease. No maintained PyPI package speaks that dialect (see docs/adr/0023-git-mirrors.md),
so this module does: versions are parsed leniently (a leading `v`, one to three
parts), as tags in the wild are written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import total_ordering
from typing import TypeVar

_IDENT = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(rf"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-({_IDENT}))?(?:\+({_IDENT}))?$")
_PART = r"(?:\d+|[xX*])"
_PARTIAL = re.compile(rf"^[vV]?({_PART})(?:\.({_PART}))?(?:\.({_PART}))?(?:-({_IDENT}))?(?:\+{_IDENT})?$")
_COMPARATOR = re.compile(r"\s*(!=|>=|=>|<=|=<|~>|>|<|=|~|\^)?\s*([^\s,<>=!~^|]+)\s*,?")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")
# Tenant text (a spec's targetRevision, a repository's tags): refused past these sizes, before any
# regex sees it. A part is an unsigned 64-bit number in Masterminds/semver, so at most 20 digits;
# that also keeps int() far from Python's 4300-digit conversion limit.
MAX_RANGE = 512
MAX_TAG = 256
MAX_DIGITS = 20
_T = TypeVar("_T")


class ConstraintError(ValueError):
    """Text that is not a version range."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """A version from a tag name (`v1.2`, `1.2.3-rc.1`), or None if it is not one."""
        if len(text) > MAX_TAG:
            return None
        m = _VERSION.match(text.strip())
        if not m or any(len(m.group(i) or "") > MAX_DIGITS for i in (1, 2, 3)):
            return None
        pre = tuple(m.group(4).split(".")) if m.group(4) else ()
        return cls(int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after all of its prereleases; numeric identifiers sort before alphanumeric.
        ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, ids)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{'.'.join(self.prerelease)}" if self.prerelease else base


_Test = Callable[[Version], bool]


@dataclass(frozen=True)
class _Partial:
    """A version as written in a range: missing or wildcard parts are None."""

    parts: tuple[int | None, int | None, int | None]
    prerelease: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _Partial:
        m = _PARTIAL.match(text)
        if not m:
            raise ConstraintError(f"{text!r} is not a version")
        raw = [m.group(1), m.group(2), m.group(3)]
        if any(len(part or "") > MAX_DIGITS for part in raw):
            raise ConstraintError(f"{text!r}: a version part has more than {MAX_DIGITS} digits")
        parts: list[int | None] = []
        for part in raw:
            # Anything after a wildcard is a wildcard too: `1.x.3` means `1.x`.
            parts.append(None if part is None or not part.isdigit() or None in parts else int(part))
        pre = tuple(m.group(4).split(".")) if m.group(4) else ()
        return cls((parts[0], parts[1], parts[2]), pre)

    @property
    def known(self) -> int:
        return sum(p is not None for p in self.parts)

    def floor(self) -> Version:
        major, minor, patch = (p or 0 for p in self.parts)
        return Version(major, minor, patch, self.prerelease)

    def ceiling(self, depth: int | None = None) -> Version | None:
        """The first version past this one at `depth` known parts (default: all known); None = no limit."""
        depth = self.known if depth is None else depth
        if depth == 0:
            return None
        major, minor, patch = (p or 0 for p in self.parts)
        if depth == 1:
            return Version(major + 1, 0, 0)
        if depth == 2:
            return Version(major, minor + 1, 0)
        return Version(major, minor, patch + 1)


def _between(low: Version | None, high: Version | None) -> _Test:
    return lambda v: (low is None or v >= low) and (high is None or v < high)


def _comparator(op: str, text: str) -> _Test:
    p = _Partial.parse(text)
    exact = p.known == 3
    if op in ("", "="):
        return (lambda v: v == p.floor()) if exact else _between(p.floor(), p.ceiling())
    if op == "!=":
        inside = _comparator("=", text)
        return lambda v: not inside(v)
    if op in (">=", "=>"):
        return _between(p.floor(), None)
    if op == ">":
        if exact:
            return lambda v: v > p.floor()
        return _between(p.ceiling(), None)
    if op == "<":
        return _between(None, p.floor())
    if op in ("<=", "=<"):
        if exact:
            return lambda v: v <= p.floor()
        return _between(None, p.ceiling())
    if op in ("~", "~>"):
        # Patch-level changes when a minor is given, else major-level.
        return _between(p.floor(), p.ceiling(2 if p.known >= 2 else p.known))
    # Caret: the left-most non-zero part may not change; for 0.x the next part is the API level.
    major, minor, patch = p.parts
    if major is None:
        depth = 0
    elif major > 0 or minor is None:
        depth = 1
    elif minor > 0 or patch is None:
        depth = 2
    else:
        depth = 3
    return _between(p.floor(), p.ceiling(depth))


@dataclass(frozen=True)
class _Alternative:
    tests: tuple[_Test, ...]
    allows_prerelease: bool

    def matches(self, v: Version) -> bool:
        if v.prerelease and not self.allows_prerelease:
            return False
        return all(test(v) for test in self.tests)


@dataclass(frozen=True)
class Constraint:
    text: str
    alternatives: tuple[_Alternative, ...]

    @classmethod
    def parse(cls, text: str) -> Constraint:
        if not text.strip():
            raise ConstraintError("an empty version range")
        if len(text) > MAX_RANGE:
            raise ConstraintError(f"a version range longer than {MAX_RANGE} characters")
        return cls(text, tuple(_parse_alternative(a) for a in text.split("||")))

    def matches(self, version: Version) -> bool:
        return any(a.matches(version) for a in self.alternatives)

    def best(self, candidates: Iterable[tuple[Version, _T]]) -> tuple[Version, _T] | None:
        """The highest candidate version inside the range."""
        inside = [c for c in candidates if self.matches(c[0])]
        return max(inside, key=lambda c: c[0]) if inside else None


def _parse_alternative(text: str) -> _Alternative:
    hyphen = _HYPHEN.match(text)
    if hyphen:
        low, high = hyphen.groups()
        pairs = [(">=", low), ("<=", high)]
    else:
        pairs = []
        pos = 0
        body = text.strip()
        while pos < len(body):
            m = _COMPARATOR.match(body, pos)
            if not m or m.end() == pos:
                raise ConstraintError(f"cannot read a version range at {body[pos:]!r}")
            pairs.append((m.group(1) or "", m.group(2)))
            pos = m.end()
        if not pairs:
            raise ConstraintError(f"an empty alternative in {text!r}")
    tests = tuple(_comparator(op, version) for op, version in pairs)
    allows_pre = any(_Partial.parse(v).prerelease for _, v in pairs)
    return _Alternative(tests, allows_pre)
