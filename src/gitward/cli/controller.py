"""`gitward controller`: run the GitOps controller, in the cluster or beside it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from gitward.cli.cluster_args import AllowLocalRepos, Context, set_allow_local_repos, tools
from gitward.cli.logs import LogFormat, LogFormatOption, LogLevel, LogLevelOption, configure_logging
from gitward.cli.output import fail
from gitward.controller.queue import DEFAULT_WORKERS
from gitward.controller.run import Controller, ControllerSettings
from gitward.controller.triggers import PollPolicy
from gitward.install.controller import HEALTH_PORT
from gitward.kube import KubeError
from gitward.kube.connection import Connection
from gitward.model.application import ARGOCD_GROUP, AppResource


def controller(
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", envvar="GITWARD_NAMESPACE", help="Where Applications live.")
    ] = "gitward",
    kubeconfig: Annotated[
        Path | None, typer.Option(help="Kubeconfig (default: $KUBECONFIG, else the in-cluster account).")
    ] = None,
    context: Context = None,
    workers: Annotated[int, typer.Option(min=1, help="Apps reconciled at once.")] = DEFAULT_WORKERS,
    poll: Annotated[float, typer.Option(min=1.0, help="Seconds between Git polls of an app.")] = 180.0,
    compat: Annotated[
        str, typer.Option(envvar="GITWARD_COMPAT", help="'argocd' to serve argoproj.io Applications.")
    ] = "",
    leader_elect: Annotated[bool, typer.Option(help="Elect one active replica through a Lease.")] = True,
    health_port: Annotated[
        int,
        typer.Option(
            min=0, envvar="GITWARD_HEALTH_PORT", help="Port of /healthz, /readyz and /metrics; 0 for none."
        ),
    ] = HEALTH_PORT,
    allow_local_repos: AllowLocalRepos = False,
    log_format: LogFormatOption = LogFormat.console,
    log_level: LogLevelOption = LogLevel.info,
) -> None:
    """Reconcile Applications continuously: Git to cluster, drift healed, status reported."""
    configure_logging(log_format, log_level)
    set_allow_local_repos(allow_local_repos)
    resource = AppResource(group=ARGOCD_GROUP) if compat == "argocd" else AppResource()
    if compat not in ("", "argocd"):
        fail(f"--compat {compat!r}: the only compatibility mode is 'argocd'")
    settings = ControllerSettings(
        namespace=namespace,
        workers=workers,
        poll=PollPolicy(interval=poll),
        resource=resource,
        leader_election=leader_elect,
        tools=tools(),
        health_port=health_port,
    )

    async def main() -> None:
        try:
            if kubeconfig is not None:
                connection = Connection.from_kubeconfig(kubeconfig, context)
            elif os.environ.get("KUBECONFIG"):
                connection = Connection.from_kubeconfig(Path(os.environ["KUBECONFIG"]), context)
            else:
                connection = Connection.in_cluster()
        except KubeError as problem:
            fail(str(problem))
        async with connection:
            await Controller(connection, settings).run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
