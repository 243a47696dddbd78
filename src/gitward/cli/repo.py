"""`gitward repo …`: what gitward sees in a Git repository."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gitward.cli.output import fail
from gitward.source import Credentials, RepoCache, SourceError

app = typer.Typer(help="Inspect Git repositories through gitward's repository cache.", no_args_is_help=True)

# Git access options shared by every command that reads a repository.
# Secrets come from the environment, never from a flag: command lines are visible to every user.
Username = Annotated[str, typer.Option(help="User name for an http(s) Git repository.")]
Password = Annotated[str, typer.Option(envvar="GITWARD_GIT_PASSWORD", hidden=True, show_default=False)]
Token = Annotated[str, typer.Option(envvar="GITWARD_GIT_TOKEN", hidden=True, show_default=False)]
SshKey = Annotated[Path | None, typer.Option(help="Private key file for ssh.")]
KnownHosts = Annotated[Path | None, typer.Option(help="known_hosts file for ssh.")]
GitCache = Annotated[
    Path | None, typer.Option(help="Git cache folder (default: $GITWARD_CACHE/git or ~/.cache/gitward/git).")
]


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except OSError as problem:
        fail(f"cannot read {path}: {problem.strerror}")
    return ""


def credentials_from(
    username: str, password: str, token: str, ssh_key: Path | None, known_hosts: Path | None
) -> Credentials | None:
    """Credentials from command options (secrets reach them through the environment only), or None."""
    if not (username or password or token or ssh_key):
        return None
    return Credentials(
        username=username,
        password=password,
        token=token,
        ssh_private_key=_read(ssh_key),
        ssh_known_hosts=_read(known_hosts),
    )


@app.command()
def resolve(
    url: Annotated[
        str, typer.Argument(help="Repository URL (git://, http(s)://, ssh://, or user@host:path).")
    ],
    revision: Annotated[
        str, typer.Argument(help="Branch, tag, (short) SHA, HEAD, or a version range such as '^1.2'.")
    ] = "HEAD",
    username: Username = "",
    password: Password = "",
    token: Token = "",
    ssh_key: SshKey = None,
    known_hosts: KnownHosts = None,
    cache: GitCache = None,
) -> None:
    """Print the commit SHA a revision resolves to (password/token from $GITWARD_GIT_PASSWORD/_TOKEN)."""
    credentials = credentials_from(username, password, token, ssh_key, known_hosts)
    repos = RepoCache(cache)
    try:
        found = asyncio.run(repos.resolve(url, revision, credentials=credentials))
    except SourceError as problem:
        fail(str(problem))
    typer.echo(found.sha)
