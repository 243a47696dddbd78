"""What the commands that act on a cluster or a local app folder share: options, tools, rendering."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli.output import err, fail
from gitward.local import toolchain
from gitward.model import ApplicationSource, SpecError
from gitward.model.repo_url import ALLOW_LOCAL_ENV
from gitward.render import (
    AppContext,
    Renderer,
    RenderError,
    RenderSettings,
    SourceTree,
    Tools,
    ValidationFailed,
)

LocalDir = Annotated[
    Path,
    typer.Option(
        "--local",
        help="The app's folder: plain manifests, a kustomization or a Helm chart.",
        show_default=False,
    ),
]
AppName = Annotated[str, typer.Option("--app", help="The app's name (tracking ids, Helm release).")]
DestNamespace = Annotated[
    str, typer.Option("--dest-namespace", help="Namespace for namespaced objects that name none.")
]
AllowLocalRepos = Annotated[
    bool,
    typer.Option(
        envvar=ALLOW_LOCAL_ENV,
        help="Also fetch file:// and local-path repoURLs (local development only: "
        "any app could then read any repository on this machine).",
    ),
]


def set_allow_local_repos(allowed: bool) -> None:
    """Record the operator's opt-in where the model and every git run read it: the environment."""
    os.environ[ALLOW_LOCAL_ENV] = "1" if allowed else "0"


Kubeconfig = Annotated[
    Path | None,
    typer.Option(help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).", show_default=False),
]
Context = Annotated[str | None, typer.Option(help="Kubeconfig context (default: the current one).")]


def default_kubeconfig() -> Path:
    configured = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(configured) if configured else Path.home() / ".kube" / "config"


def tools() -> Tools:
    """The toolchain's helm and kustomize when built (a developer's machine), else PATH (an image)."""

    def locate(command: str) -> str:
        built = toolchain.find(command)
        return str(built) if built.is_file() else shutil.which(command) or ""

    return Tools(helm=locate("helm"), kustomize=locate("kustomize"))


def render_folder(
    folder: Path, app: str, namespace: str, recurse: bool, timeout: float, exit_code: int
) -> list[dict[str, Any]]:
    """A local folder rendered like a Git source; problems print as file:line:col and exit `exit_code`."""
    if not folder.is_dir():
        fail(f"--local {folder}: not a folder", exit_code)
    spec: dict[str, Any] = {"repoURL": str(folder), "path": "", "targetRevision": "HEAD"}
    if recurse:
        spec["directory"] = {"recurse": True}
    try:
        source = ApplicationSource.from_dict(spec, local_folder=True)
        renderer = Renderer(tools(), RenderSettings(timeout=timeout))
        return renderer.render(source, SourceTree(folder.resolve()), AppContext(app, namespace))
    except ValidationFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(exit_code) from None
    except (SpecError, RenderError) as problem:
        fail(str(problem), exit_code)
