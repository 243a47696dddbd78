"""`gitward diff --local DIR`: what a sync of a local folder would change in the cluster.

Rendered as the controller renders it, stamped with the app's tracking ids,
compared through a server-side dry run. Exit code: 0 in sync, 1 when
something differs, 2 when something could not be rendered or compared.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.syntax import Syntax

from gitward.cli.cluster_args import (
    AppName,
    Context,
    DestNamespace,
    Kubeconfig,
    LocalDir,
    default_kubeconfig,
    render_folder,
)
from gitward.cli.output import err, fail
from gitward.engine.diff.compare import ClusterLive, Comparer, Comparison, with_namespace
from gitward.engine.diff.ignore import IgnoreRule, IgnoreRuleError, load_rules
from gitward.kube import Connection, Discovery, KubeError, Writer
from gitward.model.sync import SyncSpecError

IN_SYNC, DIFFERENT, FAILED = 0, 1, 2


def diff(
    local: LocalDir,
    app_name: AppName,
    dest_namespace: DestNamespace,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    recurse: Annotated[bool, typer.Option("--recurse", help="Plain manifests: include sub-folders.")] = False,
    ignore_differences: Annotated[
        Path | None,
        typer.Option(
            "--ignore-differences",
            help="YAML list of ignoreDifferences rules (group, kind, jsonPointers, jqPathExpressions, "
            "managedFieldsManagers).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds a renderer may run.")] = 90.0,
    output: Annotated[str, typer.Option("--output", "-o", help="'json' for programs; default: diffs.")] = "",
) -> None:
    """Show how the cluster differs from DIR; exit 0 in sync, 1 on differences, 2 on errors."""
    if output not in ("", "json"):
        fail(f"--output {output!r}: only json is supported", FAILED)
    rules = _rules(ignore_differences)
    objects = render_folder(local, app_name, dest_namespace, recurse, timeout, FAILED)
    try:
        results = asyncio.run(compare(objects, app_name, dest_namespace, rules, kubeconfig, context))
    except (KubeError, SyncSpecError, IgnoreRuleError) as exc:
        fail(str(exc), FAILED)
    if output == "json":
        sys.stdout.write(json.dumps([r.as_dict() for r in results], indent=2) + "\n")
    else:
        show(results)
    if any(r.error for r in results):
        raise SystemExit(FAILED)
    raise SystemExit(DIFFERENT if any(r.diff for r in results) else IN_SYNC)


def _rules(path: Path | None) -> tuple[IgnoreRule, ...]:
    if path is None:
        return ()
    try:
        entries = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}", FAILED)
    except yaml.YAMLError:
        fail(f"{path}: malformed YAML", FAILED)
    if isinstance(entries, dict) and "ignoreDifferences" in entries:
        entries = entries["ignoreDifferences"]
    if not isinstance(entries, list):
        fail(f"{path}: expected a list of ignoreDifferences rules", FAILED)
    try:
        return load_rules(entries)
    except IgnoreRuleError as exc:
        fail(f"{path}: {exc}", FAILED)


async def compare(
    objects: list[dict[str, Any]],
    app: str,
    namespace: str,
    rules: Sequence[IgnoreRule],
    kubeconfig: Path | None,
    context: str | None,
) -> list[Comparison]:
    async with Connection.from_kubeconfig(kubeconfig or default_kubeconfig(), context) as connection:
        discovery = Discovery(connection)
        writer = Writer(connection, discovery)
        try:
            desired = await with_namespace(objects, namespace, discovery)
        except KubeError as exc:
            if exc.code:
                raise
            raise KubeError(0, exc.reason, f"cannot reach {connection.server}: {exc}") from None
        return await Comparer(writer, ClusterLive(writer)).compare_all(desired, rules, app=app)


def show(results: Sequence[Comparison]) -> None:
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    for result in results:
        if result.error:
            err.print(f"[red]{result.key}:[/red] {result.error}", markup=True, soft_wrap=True)
        elif result.diff:
            verdict = "would be created" if result.would_create else "differs"
            out.print(f"[bold]{result.key}[/bold] {verdict}")
            # Diff text may hold brackets (YAML flow lists); Syntax never reads it as markup.
            out.print(Syntax(result.diff, "diff", theme="ansi_dark", background_color="default"))
    differ = sum(1 for r in results if r.diff)
    failed = sum(1 for r in results if r.error)
    summary = f"{len(results)} objects: {len(results) - differ - failed} in sync, {differ} differ"
    out.print(summary + (f", {failed} could not be compared" if failed else ""))
