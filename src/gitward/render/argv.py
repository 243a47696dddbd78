"""Checks on tenant values right before they go on helm's or kustomize's command line.

The model refuses a bad name when the spec is parsed (gitward.model.names);
these checks run again where the argv is built, because some values never
pass through the model (the app's name as the release name, the destination
namespace, the cluster's version, a dependency named in a Chart.yaml) and
because a renderer may be called with a spec made in code. Positional
arguments also come after `--` in every invocation, so that even a value
these rules missed is never parsed as a flag.
"""

from __future__ import annotations

from collections.abc import Callable

from gitward.model import names
from gitward.render.problems import Problem, ValidationFailed

Rule = Callable[[str], "str | None"]


def checked(value: str, rule: Rule, field: str, *, where: str = "spec", show: bool = True) -> str:
    """`value` when `rule` accepts it, else a ValidationFailed naming `field` (at `where`).

    `show=False` keeps the value out of the message (a helm parameter's value may be a secret)."""
    why = rule(value)
    if why is None:
        return value
    shown = f"{field} {value!r}" if show else field
    raise ValidationFailed([Problem(where, 0, 0, f"{shown}: {why}")])


def positional(value: str, field: str, *, where: str = "spec") -> str:
    """A positional argument: never empty, never starting with '-', no control characters."""
    return checked(value, names.positional, field, where=where)
