"""`gitward token create|list|delete`: bearer tokens for the API server, stored only as hashes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from gitward.cli.cluster_args import Context, default_kubeconfig
from gitward.cli.output import Format, emit, fail
from gitward.kube import Connection, KubeError
from gitward.server.auth import ALL_PROJECTS, Role, TokenError, create_token, delete_token, list_tokens

app = typer.Typer(help="Bearer tokens for `gitward server`.", no_args_is_help=True)

T = TypeVar("T")
Namespace = Annotated[
    str,
    typer.Option("--namespace", "-n", envvar="GITWARD_NAMESPACE", help="The server's namespace."),
]
KubeconfigPath = Annotated[Path | None, typer.Option(help="Kubeconfig (default: $KUBECONFIG).")]


def _run(kubeconfig: Path | None, context: str | None, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Run `work` on a connection; a refusal of the cluster or a bad request is one line and exit 1."""

    async def main() -> T:
        async with Connection.from_kubeconfig(kubeconfig or default_kubeconfig(), context) as connection:
            return await work(connection)

    try:
        return asyncio.run(main())
    except (TokenError, KubeError) as problem:
        fail(str(problem))


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    role: Annotated[
        Role, typer.Option(help="admin: read and act; read-only: read; metrics: /metrics only.")
    ] = Role.read_only,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="A project the token covers (repeat); default: all."),
    ] = None,
    namespace: Namespace = "gitward",
    kubeconfig: KubeconfigPath = None,
    context: Context = None,
) -> None:
    """Create a token and print it: it is shown this once, and only its SHA-256 is kept."""
    projects = project or [ALL_PROJECTS]
    typer.echo(_run(kubeconfig, context, lambda c: create_token(c, namespace, name, role, projects)))


@app.command("list")
def list_(
    namespace: Namespace = "gitward",
    kubeconfig: KubeconfigPath = None,
    context: Context = None,
    output: Annotated[Format, typer.Option("--output", "-o", help="table, json or yaml.")] = Format.table,
) -> None:
    """Every token's name, role, projects and creation time (never the token, nor its hash)."""
    rows = _run(kubeconfig, context, lambda c: list_tokens(c, namespace))
    if output is Format.table:
        rows = [{**row, "projects": ",".join(row["projects"])} for row in rows]
    emit(rows, ["name", "role", "projects", "created"], output)


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="The token's name (see `gitward token list`).")],
    namespace: Namespace = "gitward",
    kubeconfig: KubeconfigPath = None,
    context: Context = None,
) -> None:
    """Revoke a token: a running server refuses it (401) as soon as it sees the change."""
    _run(kubeconfig, context, lambda c: delete_token(c, namespace, name))
    typer.echo(f"token {name!r} deleted")
