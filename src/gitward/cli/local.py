"""`gitward local …`: a real Kubernetes cluster on this machine, for trying gitward and for its tests."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from gitward.cli.output import Format, emit, err, fail
from gitward.local import cluster, toolchain

app = typer.Typer(
    help="Run a local Kubernetes control plane (etcd, apiserver, controllers, kwok nodes).",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Option("--name", "-n", help="Cluster name; several can run side by side.")]
Output = Annotated[Format, typer.Option("--output", "-o", help="table, json or yaml.")]


def _say(line: str) -> None:
    err.print(f"[dim]{line}[/dim]", soft_wrap=True)


@app.command()
def up(
    name: Name = "gitward",
    nodes: Annotated[int, typer.Option("--nodes", help="How many kwok nodes.")] = 2,
    port_base: Annotated[
        int | None,
        typer.Option("--port-base", help="Look for free ports from here up (busy ones are skipped)."),
    ] = None,
    build: Annotated[
        bool,
        typer.Option("--build/--no-build", help="Build missing tools first (minutes, once per machine)."),
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the cluster to be ready.")] = 120.0,
) -> None:
    """Start a cluster and print how to use it."""
    started = time.monotonic()
    try:
        state = cluster.up(name, nodes=nodes, port_base=port_base, build=build, timeout=timeout, say=_say)
    except (cluster.ClusterError, toolchain.ToolchainError, ValueError) as problem:
        fail(str(problem))
    _say(f"ready in {time.monotonic() - started:.1f}s; stop it with: gitward local down --name {name}")
    typer.echo(f"export KUBECONFIG={state.layout.kubeconfig}")


@app.command()
def down(name: Name = "gitward") -> None:
    """Stop a cluster's processes and delete its data."""
    try:
        existed = cluster.down(name)
    except ValueError as problem:
        fail(str(problem))
    _say(f"cluster {name} stopped and removed" if existed else f"no cluster named {name}")


@app.command()
def status(output: Output = Format.table) -> None:
    """List local clusters and whether their processes are alive."""
    rows: list[dict[str, object]] = []
    for state in cluster.status():
        rows.append(
            {
                "name": state.name,
                "state": state.condition(),
                "server": state.layout.server,
                "nodes": state.nodes,
                "version": state.kubernetes_version,
                "processes": f"{len(state.live())}/{len(state.processes)}",
                "kubeconfig": str(state.layout.kubeconfig),
            }
        )
    if not rows and output is Format.table:
        _say("no local clusters; start one with: gitward local up")
        return
    emit(rows, ["name", "state", "server", "nodes", "version", "processes", "kubeconfig"], output)


@app.command(
    # Everything after the first kubectl argument belongs to kubectl, so its
    # own `-n NAMESPACE` is never taken for our --name.
    context_settings={
        "allow_extra_args": True,
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
    },
)
def kubectl(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Cluster name.")] = "gitward",
) -> None:
    """Run the toolchain's kubectl against a local cluster: `gitward local kubectl --name demo get pods`."""
    try:
        state = cluster.load(name)
    except ValueError as problem:
        fail(str(problem))
    if state is None:
        fail(f"no cluster named {name}; start it with: gitward local up --name {name}")
    binary = str(toolchain.find("kubectl"))
    argv = [binary, f"--kubeconfig={state.layout.kubeconfig}", *ctx.args]
    try:
        os.execv(binary, argv)
    except OSError as problem:
        fail(f"cannot run kubectl ({binary}): {problem.strerror}")


@app.command("toolchain")
def toolchain_(
    build: Annotated[bool, typer.Option("--build", help="Build what is missing.")] = False,
    output: Output = Format.table,
) -> None:
    """List the pinned tools, where they live and whether they are built."""
    if build:
        try:
            toolchain.ensure(_say)
        except toolchain.ToolchainError as problem:
            fail(str(problem))
    rows: list[dict[str, object]] = [
        {
            "tool": tool.name,
            "command": command,
            "version": tool.version,
            "built": tool.is_built(),
            "path": str(toolchain.find(command)),
        }
        for tool in toolchain.TOOLS
        for command in tool.commands
    ]
    emit(rows, ["tool", "command", "version", "built", "path"], output)
