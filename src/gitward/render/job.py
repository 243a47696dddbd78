"""One render's working state: its scratch folder, deadline, tools, and what to hide in messages."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitward.render.problems import Problem, ValidationFailed
from gitward.render.tools import (
    Completed,
    RendererUnavailable,
    ToolOutputTooLarge,
    ToolRunner,
    Tools,
    ToolTimedOut,
    sandbox_env,
    tool_message,
)
from gitward.render.validate import Limits


@dataclass
class Job:
    runner: ToolRunner
    tools: Tools
    scratch: Path
    timeout: float
    network: bool
    limits: Limits
    max_output: int
    started: float = field(default_factory=time.monotonic)
    # Absolute folders -> how messages show them (the repository's top as "", scratch copies likewise).
    paths: dict[str, str] = field(default_factory=dict)
    # Values that must never appear in a message (Secrets' data, secret-looking helm values).
    secrets: set[str] = field(default_factory=set)

    @property
    def deadline(self) -> float:
        return self.started + self.timeout

    def binary(self, tool: str) -> str:
        path = getattr(self.tools, tool)
        if not path:
            raise RendererUnavailable(
                f"no {tool} binary: build the toolchain (`gitward local toolchain --build`), "
                f"put {tool} on PATH, or set GITWARD_TOOL_{tool.upper()}"
            )
        return str(path)

    def run(
        self,
        tool: str,
        args: Sequence[str],
        *,
        cwd: Path,
        where: str,
        what: str,
        network: bool | None = None,
    ) -> Completed:
        """Run `tool args`; a timeout or runaway output becomes a problem at `where` naming `what`
        (e.g. "kustomize build"). A non-zero exit is returned for the caller to explain.

        `network` overrides the render's setting for one run: fetching the chart a source names
        (`helm pull`) is the source's own download, like a git fetch, not the render reaching out."""
        online = self.network if network is None else network
        if any("\x00" in arg for arg in args):  # no command line can carry it; never a traceback
            raise ValidationFailed([Problem(where, 0, 0, f"{what}: an argument holds a NUL character")])
        env = sandbox_env(self.scratch, network=online, helm=tool == "helm")
        try:
            if time.monotonic() >= self.deadline:  # an earlier step used up the time
                raise ToolTimedOut(self.timeout)
            return self.runner.run(
                [self.binary(tool), *args],
                tool=tool,
                cwd=cwd,
                env=env,
                deadline=self.deadline,
                max_output=self.max_output,
                isolate=not online,
            )
        except ToolTimedOut:
            raise ValidationFailed(
                [Problem(where, 0, 0, f"{what} did not finish within {self.timeout:g}s and was stopped")],
                transient=True,
            ) from None
        except ToolOutputTooLarge as problem:
            raise ValidationFailed([Problem(where, 0, 0, f"{what} {problem}")]) from None

    def message(self, completed: Completed) -> str:
        return tool_message(completed.stderr, paths=self.paths, secrets=self.secrets)

    def failed(self, completed: Completed, where: str, what: str) -> ValidationFailed:
        return ValidationFailed([Problem(where, 0, 0, f"{what} failed: {self.message(completed)}")])
