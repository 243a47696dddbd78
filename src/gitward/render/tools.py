"""Running the renderers' binaries (helm, kustomize): isolated, bounded in time and output, counted.

Every run:
- starts in its own session, so a timeout kills the whole process group (a
  helm plugin or a git clone started by kustomize dies with its parent);
- gets a minimal environment: PATH, a private HOME/TMPDIR/XDG folders and
  private HELM_* homes, so a user's helm repositories, plugins, registry logins
  or kubeconfig never leak into a render;
- without network permission, runs in a network namespace without a route
  where the kernel allows it (see netns.py), and in any case points every
  proxy variable at a closed loopback port and forbids git every protocol
  (defence in depth: remote references are refused before a tool runs);
- writes stdout and stderr to anonymous files, polled for size, so a template
  that prints gigabytes is stopped at `max_output` instead of filling memory.

`ToolRunner.launches` counts the processes started, per tool; the render cache
tests read it to prove that a warm render starts none.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitward.model.repo_url import GIT_TRANSPORTS
from gitward.render.netns import runnable, without_network

# Nothing listens on the discard port of loopback; a proxy there refuses every connection.
_NO_PROXY = "http://127.0.0.1:9"


class RenderError(Exception):
    """Rendering could not be attempted (a binary is missing, a chart repository is unreachable).

    Unlike ValidationFailed this says nothing about the manifests; `reason` is a
    stable word for conditions.
    """

    reason = "RenderError"


class RendererUnavailable(RenderError):
    reason = "RendererUnavailable"


@dataclass(frozen=True)
class Tools:
    """Where the renderer binaries are: the CLI passes the toolchain's, the default reads the environment."""

    helm: str = ""
    kustomize: str = ""

    @classmethod
    def from_environment(cls) -> Tools:
        """`GITWARD_TOOL_HELM` / `GITWARD_TOOL_KUSTOMIZE` (as the toolchain reads them), else PATH."""
        return cls(helm=_find("helm"), kustomize=_find("kustomize"))


def _find(command: str) -> str:
    return os.environ.get(f"GITWARD_TOOL_{command.upper()}") or shutil.which(command) or ""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


class ToolTimedOut(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g}s and was stopped")
        self.seconds = seconds


class ToolOutputTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"printed more than {limit:,} bytes and was stopped")
        self.limit = limit


class ToolRunner:
    """Starts the binaries; `parallelism` bounds how many run at once across all renders."""

    def __init__(self, parallelism: int | None = None) -> None:
        self.launches: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(parallelism or max(2, os.cpu_count() or 2))

    @property
    def total(self) -> int:
        with self._count_lock:
            return sum(self.launches.values())

    def run(
        self,
        argv: Sequence[str],
        *,
        tool: str,
        cwd: Path,
        env: Mapping[str, str],
        deadline: float,
        max_output: int,
        isolate: bool = False,
    ) -> Completed:
        """Run to completion before `deadline` (time.monotonic); raises ToolTimedOut, ToolOutputTooLarge,
        RendererUnavailable. The process group is killed in every case once the run is over.

        `isolate`: without network, in a network namespace of its own where the kernel allows one."""
        command = list(argv)
        if isolate:
            if not runnable(command[0]):
                raise RendererUnavailable(_unavailable(tool, command[0], "no such executable file"))
            command = without_network(command)
        with self._slots:
            with self._count_lock:
                self.launches[tool] = self.launches.get(tool, 0) + 1
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                try:
                    process = subprocess.Popen(
                        command,
                        cwd=cwd,
                        env=dict(env),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        start_new_session=True,
                    )
                except OSError as problem:
                    raise RendererUnavailable(
                        _unavailable(tool, command[0], str(problem.strerror or problem))
                    ) from None
                try:
                    _wait(process, out, deadline, max_output)
                finally:
                    _kill_group(process)
                out.seek(0)
                err.seek(0)
                return Completed(process.returncode, out.read(), err.read())


def _unavailable(tool: str, path: str, why: str) -> str:
    return (
        f"cannot run {tool} ({path or 'not found'}): {why}; "
        f"build it with `gitward local toolchain --build` or set GITWARD_TOOL_{tool.upper()}"
    )


def _wait(process: subprocess.Popen[bytes], out: object, deadline: float, max_output: int) -> None:
    """Poll until the process has exited (left as a zombie, so its group id cannot be reused yet)."""
    step = 0.001
    started = time.monotonic()
    while True:
        try:
            state = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if state is not None:
            return
        now = time.monotonic()
        if now >= deadline:
            raise ToolTimedOut(round(now - started, 1))
        if os.fstat(out.fileno()).st_size > max_output:  # type: ignore[attr-defined]
            raise ToolOutputTooLarge(max_output)
        time.sleep(min(step, max(deadline - now, 0.0)))
        step = min(step * 2, 0.05)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group (its leader is still unreaped, so the id is ours), then reap."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def sandbox_env(scratch: Path, *, network: bool, helm: bool = False) -> dict[str, str]:
    """The whole environment of a renderer run, under `scratch` (a private folder of this render)."""
    home = scratch / "home"
    tmp = scratch / "tmp"
    for folder in (home, tmp):
        folder.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    if helm:
        env.update(
            HELM_CACHE_HOME=str(scratch / "helm" / "cache"),
            HELM_CONFIG_HOME=str(helm_config_home(scratch)),
            HELM_DATA_HOME=str(scratch / "helm" / "data"),
            HELM_NO_PLUGINS="1",
        )
    if network:
        # A proxy the operator runs behind still applies.
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
            if name in os.environ:
                env[name] = os.environ[name]
        # kustomize's remote bases run git: remote transports only, never file:// (this machine's
        # repositories, the cache's mirrors among them), ext:: or fd:: (see gitward.model.repo_url).
        env["GIT_ALLOW_PROTOCOL"] = ":".join(GIT_TRANSPORTS)
    else:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env[name] = _NO_PROXY
        env["NO_PROXY"] = env["no_proxy"] = ""
        # A protocol list naming no real protocol: git may neither clone nor fetch anything.
        env["GIT_ALLOW_PROTOCOL"] = "none"
    return env


def helm_config_home(scratch: Path) -> Path:
    """helm's HELM_CONFIG_HOME in a render's scratch folder (repository and registry logins go there)."""
    return scratch / "helm" / "config"


_BACKTICKED = re.compile(r"`[^`]*`", re.DOTALL)
_SECRETISH = re.compile(r"pass|secret|token|key|cred|cert|auth|private", re.IGNORECASE)


def tool_message(stderr: bytes, *, paths: Mapping[str, str], secrets: Iterable[str], limit: int = 800) -> str:
    """A tool's error as one line, safe to show.

    Only the first line of its `Error:` text is kept: what follows is usage
    help or a dump of the input (kyaml's "node contents:", a patch's body).
    Backtick-quoted configuration (kustomize quotes whole inline patches and
    generator literals that way) is cut, known secret values are replaced by
    <redacted>, and our folders are shown as repository paths.
    """
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    text = (errors or lines or [""])[0].removeprefix("Error:").strip()
    text = _BACKTICKED.sub("`…`", text)
    text = re.sub(r"`[^`]*$", "`…`", text)  # a quotation that runs past the first line
    text = re.sub(r"(node contents:).*$", r"\1 …", text)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    # Longest folder first: a scratch folder may sit inside another replaced one.
    for folder in sorted(paths, key=len, reverse=True):
        text = text.replace(folder + "/", paths[folder] + "/" if paths[folder] else "")
        text = text.replace(folder, paths[folder] or ".")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or "no error output"


def secretish(key: str) -> bool:
    """Whether a values key looks like it holds a credential (its value is redacted from tool errors)."""
    return bool(_SECRETISH.search(key))
