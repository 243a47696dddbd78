from __future__ import annotations

import pytest

from gitward.render.globs import GlobError, matches


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.yaml", "a.yaml", True),
        ("*.yaml", "sub/a.yaml", True),  # no '/': the base name counts
        ("sub/*.yaml", "sub/a.yaml", True),
        ("sub/*.yaml", "sub/deeper/a.yaml", False),
        ("sub/**/*.yaml", "sub/a.yaml", True),
        ("sub/**/*.yaml", "sub/x/y/a.yaml", True),
        ("{a,b}.yaml", "b.yaml", True),
        ("{a,b}.yaml", "c.yaml", False),
        ("{config.json,*.yml}", "x.yml", True),
        ("{sub/{a,b},c}.yaml", "sub/b.yaml", True),
        ("{sub/{a,b},c}.yaml", "sub/c.yaml", False),
        ("?.yaml", "ab.yaml", False),
        ("[ab].yaml", "a.yaml", True),
        ("[!ab].yaml", "a.yaml", False),
        ("a.y*ml", "a.yaml", True),
        ("a+b.yaml", "a+b.yaml", True),
        ("./deploy.yaml", "deploy.yaml", True),
    ],
)
def test_globs(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


def test_an_unclosed_brace_is_an_error() -> None:
    with pytest.raises(GlobError, match="unclosed"):
        matches("{a,b.yaml", "a")
