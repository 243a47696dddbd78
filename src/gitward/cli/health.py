"""`gitward health`: judge objects from files offline, with the rules the sync engine uses."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gitward.cli.output import Format, emit, fail
from gitward.engine.health.assess import HealthRuleError, HealthRules, assess


def _documents(path: Path) -> Iterator[Any]:
    """Every object in a file; `kind: List` (what `kubectl get -o yaml` prints) is expanded."""
    label = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except OSError as exc:
        fail(f"{label}: cannot read: {exc.strerror or exc}", 2)
    except UnicodeDecodeError:
        fail(f"{label}: not UTF-8 text", 2)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark is not None else label
        # Only the parser's description, never the snippet: the file may hold a Secret.
        fail(f"{where}: malformed YAML: {exc.problem or 'syntax error'}", 2)
    except yaml.YAMLError:
        fail(f"{label}: malformed YAML", 2)
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            yield from doc["items"]
        elif doc is not None:
            yield doc


def _load_rules(path: Path | None) -> HealthRules | None:
    if path is None:
        return None
    docs = list(_documents(path))
    try:
        return HealthRules.load(docs[0] if len(docs) == 1 else docs)
    except HealthRuleError as exc:
        fail(f"{path}: {exc}", 2)


def health(
    files: Annotated[list[Path], typer.Argument(help="YAML or JSON files of objects; - reads stdin.")],
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="A YAML file of CEL health rules (group, kind, healthy, ...)."),
    ] = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="table, json or yaml.")] = Format.table,
) -> None:
    """Print each object's health as gitward judges it; objects with no rule have none."""
    loaded = _load_rules(rules)
    rows: list[dict[str, object]] = []
    for path in files:
        for index, obj in enumerate(_documents(path), start=1):
            if not isinstance(obj, dict):
                fail(f"{path}: document {index} is not an object", 2)
            metadata = obj.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            try:
                verdict = assess(obj, loaded)
            except HealthRuleError as exc:
                fail(f"{path}: {obj.get('kind')}/{name}: {exc}", 2)
            rows.append(
                {
                    "kind": obj.get("kind"),
                    "name": name,
                    "health": verdict.status.value if verdict is not None else None,
                    "message": verdict.message if verdict is not None else None,
                }
            )
    emit(rows, ["kind", "name", "health", "message"], output)
