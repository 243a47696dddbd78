"""How an Application looks to a person: the summary, its resources, its history, its row in a list.

Shared by `get`, `list`, `history` and the live view of `sync` and `wait`.
Everything read from the cluster goes into Rich `Text`, never markup: a
message may hold brackets that Rich would otherwise read as styles.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gitward.model.operation import PAUSE_ANNOTATION

COLOURS = {
    "Synced": "green",
    "Healthy": "green",
    "Succeeded": "green",
    "OutOfSync": "yellow",
    "Progressing": "cyan",
    "Running": "cyan",
    "Suspended": "blue",
    "Missing": "yellow",
    "Degraded": "red",
    "Failed": "red",
    "Error": "red",
    "SyncFailed": "red",
}


def console() -> Console:
    # Piped output is read by people too (logs, CI): do not cut it to 80 columns.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 240)


def word(value: str) -> Text:
    return Text(value, style=COLOURS.get(value, ""))


def status(app: Mapping[str, Any]) -> Mapping[str, Any]:
    found = app.get("status")
    return found if isinstance(found, Mapping) else {}


def sync_status(app: Mapping[str, Any]) -> str:
    return str((status(app).get("sync") or {}).get("status") or "Unknown")


def health_status(app: Mapping[str, Any]) -> str:
    return str((status(app).get("health") or {}).get("status") or "Unknown")


def sources(app: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = app.get("spec") or {}
    return list(spec.get("sources") or ([spec["source"]] if spec.get("source") else []))


def paused(app: Mapping[str, Any]) -> str:
    return str(((app.get("metadata") or {}).get("annotations") or {}).get(PAUSE_ANNOTATION) or "")


def list_row(app: Mapping[str, Any], wide: bool) -> dict[str, object]:
    spec = app.get("spec") or {}
    destination = spec.get("destination") or {}
    automated = (spec.get("syncPolicy") or {}).get("automated")
    first = sources(app)[0] if sources(app) else {}
    row: dict[str, object] = {
        "name": app["metadata"]["name"],
        "cluster": destination.get("server") or destination.get("name", ""),
        "namespace": destination.get("namespace", ""),
        "project": spec.get("project", "default"),
        "status": sync_status(app),
        "health": health_status(app),
        "syncpolicy": ("Paused" if paused(app) else "Auto") if automated is not None else "Manual",
        "conditions": ",".join(c.get("type", "") for c in status(app).get("conditions") or []),
    }
    if wide:
        row["repo"] = first.get("repoURL", "")
        row["path"] = first.get("path") or first.get("chart", "")
        row["target"] = first.get("targetRevision", "")
        row["revision"] = str((status(app).get("sync") or {}).get("revision", ""))[:12]
    return row


def summary(app: Mapping[str, Any], show_operation: bool) -> RenderableType:
    spec = app.get("spec") or {}
    metadata = app["metadata"]
    destination = spec.get("destination") or {}
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()

    def line(label: str, value: str | Text) -> None:
        grid.add_row(label, value if isinstance(value, Text) else Text(value))

    line("Name:", f"{metadata.get('namespace', '')}/{metadata['name']}")
    line("Project:", str(spec.get("project", "default")))
    line("Server:", str(destination.get("server") or destination.get("name", "")))
    line("Namespace:", str(destination.get("namespace", "")))
    for index, source in enumerate(sources(app)):
        prefix = f"Source {index + 1}:" if len(sources(app)) > 1 else "Source:"
        place = source.get("chart") or source.get("path") or "."
        line(prefix, f"{source.get('repoURL', '')} {place} @ {source.get('targetRevision') or 'HEAD'}")
    automated = (spec.get("syncPolicy") or {}).get("automated")
    if automated is None:
        line("Sync Policy:", "Manual")
    else:
        flags = [k for k in ("prune", "selfHeal", "allowEmpty") if automated.get(k)]
        line("Sync Policy:", "Automated" + (f" ({', '.join(flags)})" if flags else ""))
    if paused(app):
        line("Automation:", Text(f"paused: {paused(app)}", style="yellow"))
    revision = str((status(app).get("sync") or {}).get("revision", ""))
    line("Sync Status:", Text.assemble(word(sync_status(app)), f" at {revision[:12]}" if revision else ""))
    health = status(app).get("health") or {}
    line("Health Status:", Text.assemble(word(health_status(app)), _suffix(health.get("message"))))
    for condition in status(app).get("conditions") or []:
        line(
            "Condition:",
            Text.assemble((str(condition.get("type", "")), "red"), _suffix(condition.get("message"))),
        )
    parts: list[RenderableType] = [grid]
    state = status(app).get("operationState")
    if show_operation and isinstance(state, Mapping):
        parts.append(Text(""))
        parts.append(operation(state))
    return Group(*parts)


def operation(state: Mapping[str, Any]) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    initiated = (state.get("operation") or {}).get("initiatedBy") or {}
    by = "automated sync" if initiated.get("automated") else str(initiated.get("username", ""))
    revision = str((state.get("syncResult") or {}).get("revision", ""))
    for label, value in (
        ("Operation:", "Sync"),
        ("Phase:", word(str(state.get("phase", "")))),
        ("Revision:", revision[:12]),
        ("Initiated By:", by),
        ("Started At:", str(state.get("startedAt", ""))),
        ("Finished At:", str(state.get("finishedAt", ""))),
        ("Retries:", str(state.get("retryCount", 0))),
        ("Message:", str(state.get("message", ""))),
    ):
        if value:
            grid.add_row(label, value if isinstance(value, Text) else Text(value))
    return grid


def resources(app: Mapping[str, Any]) -> Table:
    """One row per object the app manages; MESSAGE from the last sync's result, else from health."""
    state = status(app).get("operationState") or {}
    results = {_key(r): r for r in (state.get("syncResult") or {}).get("resources") or []}
    table = Table(header_style="bold", box=None, pad_edge=False)
    for column in ("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"):
        table.add_column(column)
    rows = [dict(r) for r in status(app).get("resources") or []]
    known = {_key(r) for r in rows}
    # Hooks and pruned objects appear only in the sync's result.
    rows += [dict(r) for k, r in results.items() if k not in known]
    for resource in rows:
        result = results.get(_key(resource)) or {}
        health = resource.get("health") or {}
        hook = result.get("hookType") or ("hook" if resource.get("hook") else "")
        message = str(result.get("message") or health.get("message") or "")
        table.add_row(
            Text(str(resource.get("group", ""))),
            Text(str(resource.get("kind", ""))),
            Text(str(resource.get("namespace", ""))),
            Text(str(resource.get("name", ""))),
            word(str(resource.get("status", ""))),
            word(str(health.get("status", ""))),
            Text(str(hook)),
            Text(message),
        )
    return table


def history_rows(app: Mapping[str, Any]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for entry in reversed(status(app).get("history") or []):
        entry_sources = entry.get("sources") or ([entry["source"]] if entry.get("source") else [])
        initiated = entry.get("initiatedBy") or {}
        rows.append(
            {
                "id": entry.get("id"),
                "date": entry.get("deployedAt", ""),
                "revision": entry.get("revision", ""),
                "initiated_by": "automated" if initiated.get("automated") else initiated.get("username", ""),
                "source": " ".join(
                    f"{s.get('repoURL', '')} {s.get('chart') or s.get('path') or '.'}" for s in entry_sources
                ),
            }
        )
    return rows


def _key(resource: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(resource.get("group", "")),
        str(resource.get("kind", "")),
        str(resource.get("namespace", "")),
        str(resource.get("name", "")),
    )


def _suffix(message: object) -> str:
    return f" ({message})" if message else ""
