"""`gitward install`: print, or server-side apply, the CRDs, RBAC, the controller and the API server."""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli.cluster_args import Context, Kubeconfig, default_kubeconfig
from gitward.cli.output import fail
from gitward.install import DEFAULT_IMAGE, DEFAULT_NAMESPACE, InstallOptions, manifests, to_yaml
from gitward.install.crds import LABELS
from gitward.kube import Connection, Discovery, KubeError, Writer

FIELD_MANAGER = "gitward-install"


class Compat(enum.StrEnum):
    argocd = "argocd"


class PrintFormat(enum.StrEnum):
    yaml = "yaml"
    json = "json"


def install(
    compat: Annotated[
        Compat | None,
        typer.Option(help="Also serve Argo CD's argoproj.io Application and AppProject.", show_default=False),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Where the controller and the API server run.")
    ] = DEFAULT_NAMESPACE,
    image: Annotated[
        str, typer.Option(help="The controller's and server's image (build one from deploy/Containerfile).")
    ] = (DEFAULT_IMAGE),
    crds_only: Annotated[
        bool, typer.Option("--crds-only", help="Only the CustomResourceDefinitions.")
    ] = False,
    server: Annotated[
        bool,
        typer.Option(
            "--server/--no-server", help="Also the API server (gitward server), its RBAC and Service."
        ),
    ] = True,
    apply: Annotated[
        bool, typer.Option("--apply", help="Server-side apply to the cluster instead of printing.")
    ] = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    output: Annotated[PrintFormat, typer.Option("--output", "-o", help="yaml or json.")] = PrintFormat.yaml,
) -> None:
    """Print the install manifests (pipe them to kubectl), or apply them with --apply.

    The controller and the API server run in --namespace; --no-server leaves the server out.
    """
    options = InstallOptions(
        image=image, namespace=namespace, compat_argocd=compat is Compat.argocd, server=server
    )
    objects = manifests(options, crds_only=crds_only)
    if not apply:
        if output is PrintFormat.json:
            sys.stdout.write(
                json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"
            )
        else:
            sys.stdout.write(to_yaml(objects))
        return
    try:
        asyncio.run(_apply(objects, kubeconfig or default_kubeconfig(), context))
    except KubeError as exc:
        fail(str(exc))


async def _apply(objects: list[dict[str, Any]], kubeconfig: Path, context: str | None) -> None:
    async with Connection.from_kubeconfig(kubeconfig, context) as connection:
        writer = Writer(connection, Discovery(connection), field_manager=FIELD_MANAGER)
        applied_crds: list[str] = []
        for obj in objects:
            kind, name = obj["kind"], obj["metadata"]["name"]
            if kind == "CustomResourceDefinition":
                live = await writer.get(obj["apiVersion"], kind, name)
                if live is not None and not _ours(live):
                    # Argo CD's own CRD: its controller keeps serving it; ours must not replace its schema.
                    typer.echo(f"{kind.lower()}/{name} exists and is not gitward's: left as it is")
                    continue
                applied_crds.append(name)
            elif applied_crds:
                await _established(writer, applied_crds)
                applied_crds = []
            await writer.apply(obj, force=True)
            typer.echo(f"{kind.lower()}/{name} applied")
        if applied_crds:
            await _established(writer, applied_crds)


def _ours(crd: dict[str, Any]) -> bool:
    labels = crd.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in LABELS.items())


async def _established(writer: Writer, names: list[str], timeout: float = 60.0) -> None:
    """Wait until the CRDs serve their kinds, so Applications can be created as soon as this returns."""
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            live = await writer.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            conditions = (live or {}).get("status", {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                fail(f"customresourcedefinition/{name} was not Established within {timeout:.0f}s")
            await asyncio.sleep(0.2)
