"""Every write to the cluster goes through `gitward.kube.Writer`: no module outside gitward.kube sends
a POST, PUT, PATCH or DELETE of its own, so dry runs, field managers, preconditions and the scrubbing
of Secret values in refusals are decided in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import gitward

SRC = Path(gitward.__file__).parent


def _raw_writes(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "request" or not node.args:
            continue
        method = node.args[0]
        # A read names its method; anything else (a write, or a method chosen at run time) is flagged.
        if not (isinstance(method, ast.Constant) and method.value == "GET"):
            found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    return found


def test_no_module_outside_kube_sends_a_write() -> None:
    outside = [p for p in sorted(SRC.rglob("*.py")) if SRC / "kube" not in p.parents]
    assert outside, "the package's sources were found"
    assert [line for p in outside for line in _raw_writes(p)] == []
