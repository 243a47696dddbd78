"""The `gitward` command."""

from __future__ import annotations

import typer

from gitward import __version__
from gitward.cli.app.commands import app as app_commands
from gitward.cli.controller import controller
from gitward.cli.diff import diff
from gitward.cli.health import health
from gitward.cli.install import install
from gitward.cli.local import app as local_app
from gitward.cli.render import render
from gitward.cli.repo import app as repo_app
from gitward.cli.server import server
from gitward.cli.sync import sync
from gitward.cli.token import app as token_app

app = typer.Typer(
    name="gitward",
    help="gitward: GitOps for Kubernetes. Git is the source of truth; gitward makes the cluster match.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(local_app, name="local")
app.add_typer(repo_app, name="repo")
app.add_typer(app_commands, name="app")
app.command("render")(render)
app.command("health")(health)
app.command("controller")(controller)
app.command("install")(install)
app.command("diff")(diff)
app.command("sync")(sync)
app.command("server")(server)
app.add_typer(token_app, name="token")


@app.command()
def version() -> None:
    """Print gitward's version."""
    typer.echo(__version__)


def main() -> None:
    app()
