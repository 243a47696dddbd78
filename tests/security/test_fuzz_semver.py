"""Fuzzing the version ranges of `targetRevision` (gitward.source.semver) and the tag names they meet.

Both come from tenants (a spec, a repository's tags, a webhook's ref). The
property: a range parses or is refused with ConstraintError, a tag is a
version or None, and matching answers; each within a time bound, whatever
the text.
"""

from __future__ import annotations

import contextlib
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.source.semver import Constraint, ConstraintError, Version

# One parse or match of text this size takes microseconds; a second means something ran away.
BOUND = 1.0

# Pieces of the range grammar, so that most examples get deep into the parser, not refused at once.
_PIECES = st.sampled_from(
    [
        "1", "0", "2.3", "1.2.3", "v1", "x", "X", "*", "-", "+", ".", "rc.1", "-alpha", "+build",
        ">=", "<=", ">", "<", "=", "!=", "~", "^", "~>", "=>", "=<", "||", ",", " ", "  - ", "\t",
        "99999999999999999999", "9" * 5000, "a", "-0", "..", "v",
    ]
)  # fmt: skip
RANGES = st.one_of(
    st.lists(_PIECES, max_size=40).map("".join),
    st.text(max_size=200),
)
TAGS = st.one_of(st.lists(_PIECES, max_size=12).map("".join), st.text(max_size=80))
FUZZ = settings(
    max_examples=400,
    deadline=None,  # the bound is asserted per call below, with a clearer message
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _timed(what: str, text: str, started: float) -> None:
    took = time.perf_counter() - started
    assert took < BOUND, f"{what} of {text[:60]!r}... took {took:.2f}s"


@FUZZ
@given(RANGES, st.lists(TAGS, max_size=5))
def test_a_range_parses_or_is_refused_and_matching_is_bounded(text: str, tags: list[str]) -> None:
    started = time.perf_counter()
    try:
        constraint = Constraint.parse(text)
    except ConstraintError:
        _timed("refusing", text, started)
        return
    _timed("parsing", text, started)
    versions = []
    for tag in tags:
        started = time.perf_counter()
        version = Version.parse(tag)
        _timed("reading the tag", tag, started)
        if version is not None:
            versions.append((version, tag))
            started = time.perf_counter()
            constraint.matches(version)
            _timed("matching", text, started)
    started = time.perf_counter()
    constraint.best(versions)
    _timed("choosing", text, started)


@FUZZ
@given(TAGS)
def test_a_tag_is_a_version_or_none_and_prints_back_as_one(tag: str) -> None:
    version = Version.parse(tag)
    if version is not None:
        assert Version.parse(str(version)) == version


# Shapes that make a regex engine backtrack, at sizes a spec field can hold.
ADVERSARIAL = [
    "1" + " " * 20_000 + "x",
    " " * 20_000 + "-" + " " * 20_000,
    "1.2.3-" + "a." * 10_000 + "!",
    "1.2.3+" + "a-" * 10_000 + "..",
    ">=1.0.0 " * 5_000,
    "||" * 10_000,
    "9" * 10_000,
    "1.2." + "9" * 10_000,
    "v" + "1" * 4_400 + ".0.0",
]


def test_adversarial_ranges_are_answered_in_bounded_time() -> None:
    for text in ADVERSARIAL:
        started = time.perf_counter()
        with contextlib.suppress(ConstraintError):
            Constraint.parse(text).matches(Version(1, 2, 3))
        _timed("the range", text, started)
        started = time.perf_counter()
        Version.parse(text)
        _timed("the tag", text, started)
