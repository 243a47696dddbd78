"""Validation problems: each names where it is, and they are always reported all together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the manifests. `line` and `column` are 1-based; 0 means "not known"."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        return f"{where}: {self.message}"


class ValidationFailed(Exception):
    """The manifests are not rendered at all: every problem found is listed, in file order."""

    def __init__(self, problems: Iterable[Problem], *, transient: bool = False) -> None:
        self.problems = tuple(sorted(problems))
        # A renderer that ran out of time says nothing lasting about the manifests: not cached.
        self.transient = transient
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the manifests")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
