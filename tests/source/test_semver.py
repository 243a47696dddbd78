from __future__ import annotations

import pytest

from gitward.source.semver import Constraint, ConstraintError, Version


def v(text: str) -> Version:
    parsed = Version.parse(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize(
    ("constraint", "inside", "outside"),
    [
        ("1.2.*", ["1.2.0", "1.2.99", "v1.2.3"], ["1.3.0", "1.1.9", "1.2.3-rc.1"]),
        ("1.2.x", ["1.2.5"], ["1.3.0"]),
        ("1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
        ("~1.2.3", ["1.2.3", "1.2.9"], ["1.2.2", "1.3.0"]),
        ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
        ("^1.2.0", ["1.2.0", "1.99.0"], ["2.0.0", "1.1.9"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("^0.0", ["0.0.9"], ["0.1.0"]),
        ("^0", ["0.9.9"], ["1.0.0"]),
        (">=1.0.0 <2.0.0", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.9", "2.0.0-rc.1"]),
        (">=1.0.0, <2.0.0", ["1.5.0"], ["2.0.0"]),
        (">= 1.2, < 3.0.0 || >= 4.2.3", ["1.2.0", "2.9.9", "5.0.0"], ["3.5.0", "4.2.2"]),
        ("*", ["0.0.0", "99.1.2"], ["1.0.0-alpha"]),
        ("1.2 - 1.4.5", ["1.2.0", "1.4.5"], ["1.4.6", "1.1.9"]),
        ("<= 2.x", ["2.9.9"], ["3.0.0"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        (">1.2.3", ["1.2.4"], ["1.2.3"]),
        ("!=1.2.3", ["1.2.4"], ["1.2.3"]),
        ("=1.2.3", ["1.2.3", "v1.2.3"], ["1.2.4"]),
        (">=1.2.3-0", ["1.2.3-alpha", "1.2.3", "2.0.0-beta"], ["1.2.2"]),
        (">=1.2.3-beta.2 <1.2.4", ["1.2.3-beta.10", "1.2.3"], ["1.2.3-beta.1", "1.2.3-alpha"]),
    ],
)
def test_ranges_match_as_argo_cd_reads_them(constraint: str, inside: list[str], outside: list[str]) -> None:
    parsed = Constraint.parse(constraint)
    assert [x for x in inside if not parsed.matches(v(x))] == []
    assert [x for x in outside if parsed.matches(v(x))] == []


def test_precedence_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0",
        "1.0.1",
    ]
    assert sorted(v(x) for x in reversed(ordered)) == [v(x) for x in ordered]


def test_best_picks_the_highest_inside() -> None:
    tags = [(v(t), t) for t in ("v1.0.0", "v1.2.0", "v1.2.9", "v2.0.0")]
    assert Constraint.parse("~1.2").best(tags) == (v("1.2.9"), "v1.2.9")
    assert Constraint.parse("^3").best(tags) is None


@pytest.mark.parametrize("text", ["", "main", ">=", "1.2.3 - ", "~~1", ">=1.0.0 <"])
def test_text_that_is_not_a_range_is_refused(text: str) -> None:
    with pytest.raises(ConstraintError):
        Constraint.parse(text)


def test_tag_names_that_are_not_versions_are_ignored() -> None:
    assert Version.parse("release-1") is None
    assert Version.parse("1.2.3.4") is None
    assert v("v2") == v("2.0.0")
