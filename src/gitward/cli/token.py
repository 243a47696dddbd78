"""`gitward token create`: a bearer token for the API server, printed once and stored only as a hash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gitward.cli.cluster_args import Context, default_kubeconfig
from gitward.cli.output import fail
from gitward.kube import Connection, KubeError
from gitward.server.auth import ALL_PROJECTS, Role, TokenError, create_token

app = typer.Typer(help="Bearer tokens for `gitward server`.", no_args_is_help=True)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    role: Annotated[Role, typer.Option(help="admin: read and act; read-only: read.")] = Role.read_only,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="A project the token covers (repeat); default: all."),
    ] = None,
    namespace: Annotated[
        str,
        typer.Option("--namespace", "-n", envvar="GITWARD_NAMESPACE", help="The server's namespace."),
    ] = "gitward",
    kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: $KUBECONFIG).")] = None,
    context: Context = None,
) -> None:
    """Create a token and print it: it is shown this once, and only its SHA-256 is kept."""

    async def main() -> str:
        async with Connection.from_kubeconfig(kubeconfig or default_kubeconfig(), context) as connection:
            return await create_token(connection, namespace, name, role, project or [ALL_PROJECTS])

    try:
        token = asyncio.run(main())
    except (TokenError, KubeError) as problem:
        fail(str(problem))
    typer.echo(token)
