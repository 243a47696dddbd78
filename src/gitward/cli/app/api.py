"""The Application API as `gitward app` uses it: straight to the cluster, dict bodies, one-line errors.

There is no gitward API server in the way (yet): the commands read and
patch Application objects with the user's own kubeconfig, so what a user may
do is exactly what their RBAC allows on `applications.gitward.dev`.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import getpass
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from gitward.cli.cluster_args import Context, Kubeconfig, default_kubeconfig
from gitward.cli.output import fail
from gitward.install import DEFAULT_NAMESPACE
from gitward.kube import Connection, KubeError, Writer
from gitward.model.application import ARGOCD_GROUP, GROUP, AppResource

# Exit codes of every `gitward app` command.
OK, FAILED, BAD_INPUT = 0, 1, 2

AppNamespace = Annotated[
    str,
    typer.Option(
        "--app-namespace",
        "-N",
        envvar="GITWARD_APP_NAMESPACE",
        help="Namespace of the Applications (the controller's namespace).",
    ),
]

Name = Annotated[str, typer.Argument(metavar="NAME", help="The application's name.", show_default=False)]


class ApiGroup(enum.StrEnum):
    gitward = GROUP
    argocd = ARGOCD_GROUP


ApiGroupOption = Annotated[
    ApiGroup,
    typer.Option("--api-group", help="argoproj.io: Argo CD's Applications, served in compatibility mode."),
]


class CliError(Exception):
    """Stops a command with one line on stderr and an exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """Where the Applications are: which kubeconfig and context, which namespace, which API group."""

    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    group: ApiGroup = ApiGroup.gitward

    @property
    def resource(self) -> AppResource:
        return AppResource(group=str(self.group))


class Apps:
    """Reads and writes of Applications in one namespace; KubeErrors become CliErrors users can read."""

    def __init__(self, connection: Connection, target: Target) -> None:
        self.connection = connection
        self.target = target

    @property
    def _collection(self) -> str:
        return self.target.resource.collection(self.target.namespace)

    def _path(self, name: str) -> str:
        return self.target.resource.path(self.target.namespace, name)

    async def get(self, name: str) -> dict[str, Any]:
        try:
            found: dict[str, Any] = await self.connection.request("GET", self._path(name))
        except KubeError as problem:
            raise self._explain(problem, name) from None
        return found

    async def find(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.get(name)
        except CliError as problem:
            if problem.code == BAD_INPUT:
                return None
            raise

    async def list(self, selector: str = "") -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else None
        try:
            answer = await self.connection.request("GET", self._collection, params=params)
        except KubeError as problem:
            raise self._explain(problem, "") from None
        return list(answer.get("items") or [])

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        try:
            made = await Writer(self.connection).create_at(self._collection, obj)
        except KubeError as problem:
            raise self._explain(problem, str(obj["metadata"]["name"])) from None
        return made

    async def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        name = str(obj["metadata"]["name"])
        try:
            done = await Writer(self.connection).replace_at(self._path(name), obj)
        except KubeError as problem:
            raise self._explain(problem, name) from None
        return done

    async def patch(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch; with metadata.resourceVersion in it, refused if someone wrote first."""
        try:
            done = await Writer(self.connection).merge_patch_at(self._path(name), body)
        except KubeError as problem:
            raise self._explain(problem, name) from None
        return done

    async def delete(self, name: str) -> None:
        try:
            await Writer(self.connection).delete_at(self._path(name))
        except KubeError as problem:
            raise self._explain(problem, name) from None

    def _explain(self, problem: KubeError, name: str) -> CliError:
        where = f"namespace {self.target.namespace}"
        resource = f"applications.{self.target.group}"
        if problem.not_found and name and f'"{name}"' in problem.message:
            return CliError(f"application {name!r} not found in {where}", BAD_INPUT)
        if problem.not_found:
            return CliError(
                f"{resource} is not served by {self.connection.server}: install the CRDs "
                "(`gitward install --apply`)",
                FAILED,
            )
        if problem.code == 409 and problem.reason == "Conflict":
            return CliError(f"application {name!r} changed meanwhile; try again ({problem.message})")
        if problem.code == 409:
            return CliError(f"application {name!r} already exists in {where}", BAD_INPUT)
        if problem.code in (400, 422):
            return CliError(problem.message, BAD_INPUT)
        if problem.code == 403:
            return CliError(f"not allowed: {problem.message}")
        return CliError(str(problem))


T = TypeVar("T")


def with_target(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the options every `gitward app` command shares, handed to it as one `target`.

    Typer reads a command's options from its signature, so the wrapper shows
    the command's own parameters (minus `target`) followed by the shared ones.
    """
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "target"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, default, annotation in (
            ("app_namespace", DEFAULT_NAMESPACE, AppNamespace),
            ("api_group", ApiGroup.gitward, ApiGroupOption),
            ("kubeconfig", None, Kubeconfig),
            ("context", None, Context),
        )
    ]

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        app_namespace: str,
        api_group: ApiGroup,
        kubeconfig: Path | None,
        context: str | None,
        **kw: Any,
    ) -> None:
        command(*args, target=Target(kubeconfig, context, app_namespace, api_group), **kw)

    wrapper.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    return wrapper


def run(target: Target, work: Callable[[Apps], Awaitable[T]]) -> T:
    """Open a connection, run `work` with it, and turn any failure into one line and an exit code."""

    async def main() -> T:
        path = target.kubeconfig or default_kubeconfig()
        async with Connection.from_kubeconfig(path, target.context) as connection:
            return await work(Apps(connection, target))

    try:
        return asyncio.run(main())
    except CliError as problem:
        fail(str(problem), problem.code)
    except KubeError as problem:
        # A kubeconfig that cannot be read is the user's input; an unreachable server is not.
        fail(str(problem), BAD_INPUT if problem.reason == "BadConfig" else FAILED)


def user() -> str:
    """Who asked, for `initiatedBy`: the login name (kubeconfig users are often certificates)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
