"""`gitward render`: the objects a source declares, as gitward would apply them.

Like `argocd app manifests --local` and `flux build`: a local folder, a Git
repository URL (resolved and checked out through gitward's repository cache),
a chart from a Helm repository, or a whole Application manifest (`--app`,
every source, `$ref` values included). Directory, Kustomize or Helm is chosen
as the controller chooses it.
"""

from __future__ import annotations

import asyncio
import enum
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gitward.cli.cluster_args import tools
from gitward.cli.output import err, fail
from gitward.cli.repo import GitCache, KnownHosts, Password, SshKey, Token, Username, credentials_from
from gitward.engine.desired import DesiredState, KnownCredentials
from gitward.engine.repo_credentials import RepoCredential
from gitward.model import ApplicationSource, SpecError, sources_from_spec
from gitward.render import (
    AppContext,
    Renderer,
    RenderError,
    RenderSettings,
    SourceTree,
    ValidationFailed,
)
from gitward.source import Credentials, RepoCache, SourceError


class ManifestFormat(enum.StrEnum):
    yaml = "yaml"
    json = "json"


_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:)")


def render(
    target: Annotated[
        str,
        typer.Argument(
            metavar="PATH_OR_REPO_URL",
            help="A local checkout (the repository's top folder), a Git repository URL, "
            "or with --chart a Helm repository URL. Omit with --app.",
            show_default=False,
        ),
    ] = "",
    revision: Annotated[
        str, typer.Option("--revision", "-r", help="Branch, tag, SHA, HEAD or version range (a URL only).")
    ] = "HEAD",
    path: Annotated[str, typer.Option("--path", help="The app's folder inside the repository.")] = "",
    chart: Annotated[str, typer.Option(help="A chart from the Helm repository PATH_OR_REPO_URL.")] = "",
    app_file: Annotated[
        Path | None,
        typer.Option(
            "--app", help="An Application manifest: render its source or sources[].", show_default=False
        ),
    ] = None,
    recurse: Annotated[bool, typer.Option("--recurse", help="Directory: include sub-folders.")] = False,
    include: Annotated[
        str, typer.Option(help="Directory: only files matching this glob ({a,b} allowed).")
    ] = "",
    exclude: Annotated[str, typer.Option(help="Directory: skip files matching this glob; wins.")] = "",
    helm_set: Annotated[
        list[str] | None, typer.Option("--helm-set", help="Helm parameter name=value (repeatable).")
    ] = None,
    helm_set_string: Annotated[
        list[str] | None, typer.Option("--helm-set-string", help="Helm parameter kept a string (repeatable).")
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option("--values", help="Helm values file in the repository, relative to --path (repeatable)."),
    ] = None,
    release_name: Annotated[str, typer.Option(help="Helm release name (default: the app name).")] = "",
    app_name: Annotated[
        str, typer.Option("--app-name", help="The app's name (default: the folder's or chart's name).")
    ] = "",
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="The destination namespace.")] = "",
    kube_version: Annotated[str, typer.Option(help="Helm: the Kubernetes version templates see.")] = "",
    api_versions: Annotated[
        list[str] | None, typer.Option("--api-versions", help="Helm: extra API versions (repeatable).")
    ] = None,
    skip_crds: Annotated[
        bool, typer.Option("--skip-crds", help="Helm: leave out the chart's crds/.")
    ] = False,
    allow_network: Annotated[
        bool,
        typer.Option(
            "--allow-network", help="Allow Kustomize remote bases, remote Helm dependencies and values URLs."
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds a renderer may run.")] = 90.0,
    username: Username = "",
    password: Password = "",
    token: Token = "",
    ssh_key: SshKey = None,
    known_hosts: KnownHosts = None,
    cache: GitCache = None,
    output: Annotated[
        ManifestFormat, typer.Option("--output", "-o", help="yaml or json.")
    ] = ManifestFormat.yaml,
) -> None:
    """Print the rendered objects; on validation errors print each as file:line:col: message and exit 2."""
    credentials = credentials_from(username, password, token, ssh_key, known_hosts)
    renderer = Renderer(tools(), RenderSettings(timeout=timeout, allow_network=allow_network))
    try:
        if app_file is not None:
            if target:
                fail("give either PATH_OR_REPO_URL or --app, not both")
            objects = _render_app(renderer, app_file, cache, credentials)
        else:
            source = _source_from_flags(
                target,
                revision=revision,
                path=path,
                chart=chart,
                directory={"recurse": recurse, "include": include, "exclude": exclude},
                helm={
                    "valueFiles": list(values or []),
                    "parameters": [_parameter(p, False) for p in helm_set or []]
                    + [_parameter(p, True) for p in helm_set_string or []],
                    "releaseName": release_name,
                    "kubeVersion": kube_version,
                    "apiVersions": list(api_versions or []),
                    "skipCrds": skip_crds,
                },
            )
            context = AppContext(app_name or _default_name(source), namespace)
            objects = _render_source(renderer, source, context, cache, credentials)
    except ValidationFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except SpecError as problem:
        err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except (RenderError, SourceError) as problem:
        fail(str(problem))
    if output is ManifestFormat.json:
        sys.stdout.write(json.dumps(objects, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.dump_all(objects, Dumper=yaml.CSafeDumper, sort_keys=False))


def _parameter(text: str, force_string: bool) -> dict[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        fail(f"--helm-set{'-string' if force_string else ''} {text!r}: expected name=value")
    return {"name": name, "value": value, "forceString": force_string}


def _source_from_flags(
    target: str,
    *,
    revision: str,
    path: str,
    chart: str,
    directory: dict[str, Any],
    helm: dict[str, Any],
) -> ApplicationSource:
    if not target:
        fail("give PATH_OR_REPO_URL (a folder or a repository URL), or --app FILE")
    spec: dict[str, Any] = {"repoURL": target, "path": path, "targetRevision": revision}
    if chart:
        spec["chart"] = chart
    # Only the flags given make a block: a block named is a renderer chosen (Argo CD's explicit type).
    if any(directory.values()):
        spec["directory"] = {k: v for k, v in directory.items() if v}
    if any(helm.values()):
        spec["helm"] = {k: v for k, v in helm.items() if v}
    # A folder is rendered where it is, never fetched: it is no repository URL to refuse.
    return ApplicationSource.from_dict(spec, local_folder=Path(target).is_dir())


def _render_source(
    renderer: Renderer,
    source: ApplicationSource,
    context: AppContext,
    cache: Path | None,
    credentials: Credentials | None,
) -> list[dict[str, Any]]:
    """A folder rendered where it is (no commit: never cached), or a repository's as the controller does."""
    target = source.repo_url
    if not source.chart:
        if Path(target).is_dir():
            return renderer.render(source, SourceTree(Path(target).resolve()), context)
        if not _URL.match(target):
            fail(f"{target} is neither a folder nor a repository URL")
    # --username/--password also log in to a chart's repository.
    login = credentials if credentials and (not source.chart or credentials.password) else None
    desired = _desired(renderer, cache, login, [source])
    return asyncio.run(desired.render_sources([source], context.name, context.namespace)).objects


def _desired(
    renderer: Renderer,
    cache: Path | None,
    credentials: Credentials | None,
    sources: Sequence[ApplicationSource],
) -> DesiredState:
    """The controller's render path, with the command's credentials for every source's repository."""
    known = [
        RepoCredential(s.repo_url, credentials, False, "command options") for s in sources if credentials
    ]
    return DesiredState(RepoCache(cache), renderer, KnownCredentials(known))


def _render_app(
    renderer: Renderer, app_file: Path, cache: Path | None, credentials: Credentials | None
) -> list[dict[str, Any]]:
    try:
        manifest = yaml.load(app_file.read_text(), Loader=yaml.CSafeLoader)
    except OSError as problem:
        fail(f"cannot read {app_file}: {problem.strerror}")
    except yaml.YAMLError:
        fail(f"{app_file} is not valid YAML")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("spec"), dict):
        fail(f"{app_file} is not an Application manifest (no spec)")
    metadata = manifest.get("metadata") or {}
    destination = manifest["spec"].get("destination") or {}
    sources = sources_from_spec(manifest["spec"])
    name = str(metadata.get("name") or _default_name(sources[0]))
    # The options serve the file's Git repositories, never its chart repositories (which may be anyone's).
    desired = _desired(renderer, cache, credentials, [s for s in sources if not s.chart])
    return asyncio.run(desired.render_sources(sources, name, str(destination.get("namespace") or ""))).objects


def _default_name(source: ApplicationSource) -> str:
    """A release-name-like default: the chart's, the folder's, or the repository's name."""
    base = (
        source.chart or Path(source.path.rstrip("/")).name or source.repo_url.rstrip("/").rsplit("/", 1)[-1]
    )
    name = re.sub(r"[^a-z0-9-]+", "-", base.removesuffix(".git").lower()).strip("-")[:53].strip("-")
    return name or "gitward"
