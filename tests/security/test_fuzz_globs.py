"""Fuzzing the glob matcher (gitward.model.glob) that every tenant pattern goes through.

Directory include/exclude, project sourceRepos/destinations/kinds and sync
window selectors are globs. Properties:
- on small inputs the matcher agrees with a regex built from the same
  pattern (a slow reference: fine for short texts, exponential for long ones);
- any text compiles or is refused with GlobError, never another exception;
- matching takes a bounded time on the shapes that make a backtracking
  matcher explode.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.engine.project_policy import glob_match
from gitward.model.glob import MAX_PATTERN, GlobError, compile_glob
from gitward.render.globs import matches

FUZZ = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
BOUND = 0.5  # seconds for one match; the linear matcher needs microseconds


@dataclass(frozen=True)
class Token:
    """A piece of a pattern and the regex it stands for; a group holds its options instead."""

    glob: str
    regex: str = ""  # with "/" as the separator
    flat: str = ""  # without a separator
    options: tuple[tuple[Token, ...], ...] = ()


def _lit(ch: str) -> Token:
    return Token(ch, re.escape(ch), re.escape(ch))


SIMPLE = st.sampled_from(
    [
        _lit("a"),
        _lit("b"),
        _lit("/"),
        _lit("."),
        Token("*", "[^/]*", ".*"),
        Token("**", ".*", ".*"),
        Token("**/"),  # `(?:.*/)?` with zero_dirs, else `.*/`
        Token("?", "[^/]", "."),
        Token("[ab]", "[ab]", "[ab]"),
        Token("[!a]", "[^a/]", "[^a]"),
        Token("[^a/]", "[^a/]", "[^a/]"),
        Token("[a-b]", "[a-b]", "[a-b]"),
        Token("[]a]", "[\\]a]", "[\\]a]"),
        Token("\\*", "\\*", "\\*"),
        Token("\\{", "\\{", "\\{"),
    ]
)


def _group(options: list[list[Token]]) -> Token:
    return Token("{" + ",".join(_text(o) for o in options) + "}", options=tuple(tuple(o) for o in options))


TOKENS = st.recursive(
    st.lists(SIMPLE, max_size=6),
    lambda inner: st.lists(
        st.one_of(SIMPLE, st.lists(inner, min_size=1, max_size=3).map(_group)), max_size=6
    ),
    max_leaves=12,
)


def _text(tokens: Sequence[Token]) -> str:
    return "".join(t.glob for t in tokens)


def _regex(tokens: Sequence[Token], separator: bool, zero_dirs: bool) -> str:
    out = []
    for token in tokens:
        if token.options:
            out.append("(?:" + "|".join(_regex(o, separator, zero_dirs) for o in token.options) + ")")
        elif token.glob == "**/":
            out.append("(?:.*/)?" if zero_dirs else ".*/")
        else:
            out.append(token.regex if separator else token.flat)
    return "".join(out)


def _well_formed(tokens: Sequence[Token]) -> bool:
    """No token that reads differently beside the next (`*` `*` is `**`; `**` `/` is `**/`), at any depth."""
    pairs = itertools.pairwise(tokens)
    return all(all(_well_formed(o) for o in t.options) for t in tokens) and not any(
        (a.glob in ("*", "**") and b.glob in ("*", "**", "**/")) or (a.glob == "**" and b.glob == "/")
        for a, b in pairs
    )


TEXTS = st.text(alphabet="ab/.*{]", max_size=10)


@FUZZ
@given(TOKENS.filter(_well_formed), st.lists(TEXTS, max_size=4), st.booleans(), st.data())
def test_the_matcher_agrees_with_a_regex_on_small_inputs(
    tokens: list[Token], texts: list[str], separator: bool, data: st.DataObject
) -> None:
    pattern = _text(tokens)
    for zero_dirs in (False, True) if separator else (False,):
        reference = re.compile(_regex(tokens, separator, zero_dirs), re.DOTALL)
        # A text the reference matches, and every near miss of it: one character replaced or dropped.
        near = data.draw(st.from_regex(reference, fullmatch=True).filter(lambda t: len(t) < 30))
        misses = [near[:i] + c + near[i + 1 :] for i in range(len(near) + 1) for c in ("/", "a", "")]
        glob = compile_glob(pattern, separator="/" if separator else "", zero_dirs=zero_dirs)
        for text in [near, *misses, *texts]:
            assert glob.match(text) == bool(reference.fullmatch(text)), (pattern, text, zero_dirs)


@FUZZ
@given(st.text(max_size=80), st.text(max_size=80), st.booleans())
def test_any_text_compiles_or_is_refused_with_glob_error(pattern: str, text: str, separator: bool) -> None:
    try:
        glob = compile_glob(pattern, separator="/" if separator else "", zero_dirs=separator)
    except GlobError as problem:
        assert "pattern" in str(problem)  # says what it refused
        return
    started = time.perf_counter()
    glob.match(text)
    assert time.perf_counter() - started < BOUND


@FUZZ
@given(st.text(alphabet="{},[]!^-\\*?a", max_size=60), st.text(alphabet="a/", max_size=30))
def test_the_callers_never_raise_anything_but_glob_error(pattern: str, path: str) -> None:
    with contextlib.suppress(GlobError):
        matches(pattern, path)
    # Project patterns: a pattern the matcher refuses means only its literal text.
    assert glob_match(pattern, path, "/") in (True, False)
    assert glob_match(pattern, path) in (True, False)


def _timed(pattern: str, text: str, separator: str, zero_dirs: bool) -> float:
    glob = compile_glob(pattern, separator=separator, zero_dirs=zero_dirs)
    started = time.perf_counter()
    glob.match(text)
    return time.perf_counter() - started


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("*a*a*a*a*a*a*a*a*a*ab", "a" * 60),  # the reported one
        ("*a" * 100 + "b", "a" * 5000),
        ("**a" * 100 + "b", "a/" * 2500),
        ("{a,a*,*a}" * 30 + "b", "a" * 3000),
        ("{*a,**a,a*}" * 40 + "x", "a" * 2000),
        ("?*" * 200 + "b", "a" * 5000),
        ("**/" * 100 + "x", "a/" * 2500),
        ("[a-z]*" * 100 + "!", "a" * 5000),
    ],
)
@pytest.mark.parametrize("separator", ["/", ""])
def test_adversarial_patterns_finish_in_bounded_time(pattern: str, text: str, separator: str) -> None:
    took = _timed(pattern, text, separator=separator, zero_dirs=bool(separator))
    assert took < BOUND, f"{pattern[:30]!r} took {took:.2f}s"


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("[z-a]", "reversed range 'z-a'"),
        ("{a,b", "unclosed '{'"),
        ("a}", "unbalanced '}'"),
        ("{" * 9 + "a" + "}" * 9, "nested deeper"),
        ("{" + ",".join("a" * 300) + "}", "more than 256 alternatives"),
        ("a" * (MAX_PATTERN + 1), "longer than"),
    ],
)
def test_invalid_patterns_are_refused_with_the_reason(pattern: str, complaint: str) -> None:
    with pytest.raises(GlobError, match=re.escape(complaint)):
        compile_glob(pattern)


def test_a_project_pattern_the_matcher_refuses_means_its_literal_text() -> None:
    assert glob_match("team-[z-a]", "team-[z-a]")
    assert not glob_match("team-[z-a]", "team-b")
    assert glob_match("team-{a", "team-{a", "/")
