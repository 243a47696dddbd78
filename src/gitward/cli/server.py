"""`gitward server`: the HTTP API, its live stream and metrics, beside the controller."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from gitward.cli.cluster_args import AllowLocalRepos, Context, set_allow_local_repos, tools
from gitward.cli.logs import (
    LogFormat,
    LogFormatOption,
    LogLevel,
    LogLevelOption,
    configure_logging,
    library_level,
)
from gitward.cli.output import fail
from gitward.kube import Connection, KubeError
from gitward.model.application import ARGOCD_GROUP, AppResource
from gitward.server.state import Anonymous, ServerSettings


def connector(kubeconfig: Path | None, context: str | None) -> Connection:
    """The kubeconfig given, else $KUBECONFIG, else the pod's service account."""
    if kubeconfig is not None:
        return Connection.from_kubeconfig(kubeconfig, context)
    if os.environ.get("KUBECONFIG"):
        return Connection.from_kubeconfig(Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]), context)
    return Connection.in_cluster()


def server(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8081,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    namespace: Annotated[
        str,
        typer.Option(
            "--namespace", "-n", envvar="GITWARD_NAMESPACE", help="Where Applications and tokens live."
        ),
    ] = "gitward",
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Kubeconfig (default: $KUBECONFIG, else the in-cluster account).")
    ] = None,
    context: Context = None,
    anonymous: Annotated[
        Anonymous, typer.Option(help="What a caller without a token may do: nothing, or read every app.")
    ] = Anonymous.none,
    compat: Annotated[
        str, typer.Option(envvar="GITWARD_COMPAT", help="'argocd' to serve argoproj.io Applications.")
    ] = "",
    ui: Annotated[
        Path | None,
        typer.Option(help="The web UI's built files (default: ui/dist of this checkout, when built)."),
    ] = None,
    allow_local_repos: AllowLocalRepos = False,
    log_format: LogFormatOption = LogFormat.console,
    log_level: LogLevelOption = LogLevel.info,
) -> None:
    """Serve the REST API (/api/v1), live updates (/api/v1/stream), /metrics and the probes."""
    configure_logging(log_format, log_level)
    set_allow_local_repos(allow_local_repos)
    if compat not in ("", "argocd"):
        fail(f"--compat {compat!r}: the only compatibility mode is 'argocd'")
    try:
        # Fail here, with one line, rather than with a traceback from inside the server's start.
        probe = connector(kubeconfig, context)
    except KubeError as problem:
        fail(str(problem))
    asyncio.run(probe.aclose())
    # Imported here: FastAPI and uvicorn would slow every other gitward command's start.
    import uvicorn

    from gitward.server.app import create_app
    from gitward.server.ui import default_dist

    settings = ServerSettings(
        namespace=namespace,
        anonymous=anonymous,
        resource=AppResource(group=ARGOCD_GROUP) if compat == "argocd" else AppResource(),
        tools=tools(),
        ui_dir=ui or default_dist(),
    )
    app = create_app(lambda: connector(kubeconfig, context), settings)
    # A browser's live stream never ends by itself; without a bound, Ctrl-C would wait for it forever.
    # log_config=None: uvicorn's records go through gitward's log (gitward.cli.logs), not its own handlers.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=library_level(log_level).value,
        access_log=False,
        timeout_graceful_shutdown=3,
    )
