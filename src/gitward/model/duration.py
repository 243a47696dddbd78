"""Durations as Argo CD writes them: Go's `1h30m`, `500ms`, `5s`, or a bare number of seconds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from gitward.model.fields import SpecError, type_name

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = r"[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h)"
# Shared with the CRD schema, so the API server refuses what `Duration.parse` refuses.
_PATTERN = rf"^(?:[0-9]+|(?:{_PART})+)$"
_WHOLE = re.compile(_PATTERN)
_PARTS = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")


@dataclass(frozen=True)
class Duration:
    """A length of time; `text` keeps the spelling so that a spec is written back as it was read."""

    text: str
    seconds: float

    PATTERN: ClassVar[str] = _PATTERN

    @classmethod
    def parse(cls, text: str, where: str = "duration") -> Duration:
        if not _WHOLE.match(text):
            raise SpecError(
                f"{where}: {text!r} is not a duration; write a number with a unit, e.g. 5s, 3m, 1h30m"
            )
        if text.isdigit():
            return cls(text, float(text))
        total = sum(float(number) * _UNITS[unit] for number, unit in _PARTS.findall(text))
        return cls(text, total)

    @classmethod
    def from_json(cls, value: object, where: str) -> Duration:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a duration string such as 5s, got {type_name(value)}")
        return cls.parse(value, where)

    def to_json(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text
