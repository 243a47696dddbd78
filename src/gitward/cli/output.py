"""How every command prints: Rich tables for people, `-o json|yaml` for programs."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

import yaml
from rich.console import Console
from rich.table import Table

err = Console(stderr=True, highlight=False)


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def emit(
    rows: Sequence[dict[str, object]], columns: Sequence[str], fmt: Format, title: str | None = None
) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps(list(rows), indent=2) + "\n")
    elif fmt is Format.yaml:
        sys.stdout.write(yaml.safe_dump(list(rows), sort_keys=False))
    else:
        table = Table(title=title, header_style="bold")
        for column in columns:
            table.add_column(column.upper().replace("_", " "))
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        # Piped output is read by people too (logs, CI); do not cut paths to 80 columns.
        Console(highlight=False, width=None if sys.stdout.isatty() else 240).print(table)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, then exit: the shape of every user-facing error."""
    err.print(f"[red]gitward:[/red] {message}", soft_wrap=True)
    raise SystemExit(code)
