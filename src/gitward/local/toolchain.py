"""The pinned binaries gitward's local control plane and renderers need.

Every tool is built from the Go module proxy into a small wrapper module, so
that one recipe serves modules whose own go.mod has `replace` directives
(etcd, Kubernetes) as well as plain ones. A build lands in a temporary
folder and is renamed into place only when complete, so an interrupted build
never looks like a cache hit.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gitward.local.gomod import go_minor, staging_replaces, staging_version
from gitward.local.paths import cache_root

KUBERNETES_VERSION = "v1.37.2"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Tool:
    """One cache entry: a Go module at a version, and the commands built from it."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags: tuple[str, ...] = ()
    # Kubernetes needs its staging modules pinned to their published versions.
    pin_staging: bool = False
    binaries: tuple[str, ...] = field(default=())
    # Files the tool needs at run time, copied from its module into share/.
    data: tuple[str, ...] = ()

    @property
    def commands(self) -> tuple[str, ...]:
        return self.binaries or tuple(p.rsplit("/", 1)[-1] for p in self.packages)

    @property
    def directory(self) -> Path:
        return cache_root() / f"{self.name}-{self.version}"

    def path(self, command: str) -> Path:
        return self.directory / "bin" / command

    @property
    def share(self) -> Path:
        return self.directory / "share"

    def is_built(self) -> bool:
        return (
            (self.directory / ".complete").is_file()
            and all(self.path(c).is_file() for c in self.commands)
            and all((self.share / Path(d).name).is_file() for d in self.data)
        )


def _kubernetes() -> Tool:
    minor = KUBERNETES_VERSION.split(".")[1]
    v = KUBERNETES_VERSION
    return Tool(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=v,
        packages=tuple(
            f"k8s.io/kubernetes/cmd/{c}"
            for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        ldflags=(
            f"-X k8s.io/component-base/version.gitVersion={v}",
            "-X k8s.io/component-base/version.gitMajor=1",
            f"-X k8s.io/component-base/version.gitMinor={minor}",
            "-X k8s.io/component-base/version.gitTreeState=clean",
            f"-X k8s.io/client-go/pkg/version.gitVersion={v}",
            "-X k8s.io/client-go/pkg/version.gitMajor=1",
            f"-X k8s.io/client-go/pkg/version.gitMinor={minor}",
        ),
        pin_staging=True,
    )


TOOLS: tuple[Tool, ...] = (
    _kubernetes(),
    Tool(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version="v3.6.16",
        packages=("go.etcd.io/etcd/server/v3",),
        binaries=("etcd",),
    ),
    Tool(
        name="kwok",
        module="sigs.k8s.io/kwok",
        version="v0.8.0",
        packages=("sigs.k8s.io/kwok/cmd/kwok",),
        ldflags=("-X sigs.k8s.io/kwok/pkg/consts.Version=0.8.0",),
        # kwok simulates nothing without Stage objects in its config. These
        # are the release's own "fast" set (what kwokctl uses by default):
        # nodes become Ready and keep a lease; pods become Ready, Jobs'
        # pods complete, deleted pods go away.
        data=tuple(
            f"kustomize/stage/{path}"
            for path in (
                "node/fast/node-initialize.yaml",
                "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
                "pod/fast/pod-ready.yaml",
                "pod/fast/pod-complete.yaml",
                "pod/fast/pod-delete.yaml",
            )
        ),
    ),
    Tool(
        name="helm",
        module="helm.sh/helm/v3",
        version="v3.22.0",
        packages=("helm.sh/helm/v3/cmd/helm",),
        ldflags=(
            "-X helm.sh/helm/v3/internal/version.version=v3.22.0",
            "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        ),
    ),
    Tool(
        # v5.8.3 needs Go 1.27; v5.8.2 is the newest that builds with Go 1.26.
        name="kustomize",
        module="sigs.k8s.io/kustomize/kustomize/v5",
        version="v5.8.2",
        packages=("sigs.k8s.io/kustomize/kustomize/v5",),
        binaries=("kustomize",),
        ldflags=("-X sigs.k8s.io/kustomize/api/provenance.version=v5.8.2",),
    ),
)


# What a local cluster runs; helm and kustomize are for rendering only.
CLUSTER_TOOLS: tuple[Tool, ...] = tuple(t for t in TOOLS if t.name in ("kubernetes", "etcd", "kwok"))

# Built only when something first asks for it (`ensure(tools=...)`), never by
# `make toolchain`: an OCI registry serves Helm charts to the tests, nothing
# else needs it, and a machine that never runs them should not pay the build.
ON_DEMAND: tuple[Tool, ...] = (
    Tool(
        name="registry",
        module="github.com/distribution/distribution/v3",
        version="v3.1.2",
        packages=("github.com/distribution/distribution/v3/cmd/registry",),
        ldflags=("-X github.com/distribution/distribution/v3/version.version=v3.1.2",),
    ),
)


class ToolchainError(RuntimeError):
    """A build step failed; the message names the tool and the step."""


def find(command: str) -> Path:
    """The path of a command: an override from the environment, else the cache.

    `GITWARD_TOOL_KUBE_APISERVER=/path` (the command's name upper-cased, `-`
    as `_`) points gitward at a binary of the user's own.
    """
    override = os.environ.get("GITWARD_TOOL_" + command.upper().replace("-", "_"))
    if override:
        return Path(override)
    for tool in (*TOOLS, *ON_DEMAND):
        if command in tool.commands:
            return tool.path(command)
    raise KeyError(command)


def on_demand(tool_name: str, progress: Progress | None = None) -> Tool:
    """An ON_DEMAND tool, built now if it is not cached yet."""
    tool = next(t for t in ON_DEMAND if t.name == tool_name)
    ensure(progress, (tool,))
    return tool


def share(tool_name: str) -> Path:
    """The run-time data folder of a tool (see Tool.data)."""
    return next(t for t in TOOLS if t.name == tool_name).share


def missing(tools: tuple[Tool, ...] = TOOLS) -> list[Tool]:
    return [t for t in tools if not t.is_built()]


def ensure(progress: Progress | None = None, tools: tuple[Tool, ...] = TOOLS) -> None:
    """Build whatever is not cached yet; a full cache costs a few stat calls."""
    todo = [t for t in tools if not t.is_built()]
    if not todo:
        return
    say = progress or _stderr
    if shutil.which("go") is None:
        raise ToolchainError(
            "building " + ", ".join(t.name for t in todo) + " needs Go 1.26 or newer on PATH"
            " (the tools are built from the Go module proxy)"
        )
    cache_root().mkdir(parents=True, exist_ok=True)
    with _build_lock():
        for i, tool in enumerate(todo, 1):
            if tool.is_built():  # another process built it while we waited
                continue
            say(f"[{i}/{len(todo)}] building {tool.name} {tool.version} ({', '.join(tool.commands)})")
            started = time.monotonic()
            build(tool, say)
            say(f"[{i}/{len(todo)}] {tool.name} {tool.version} built in {_human(time.monotonic() - started)}")


def build(tool: Tool, say: Progress) -> None:
    work = tool.directory.with_name(tool.directory.name + f".tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    module_dir = work / "module"
    module_dir.mkdir(parents=True)
    env = _go_env()
    run = _runner(tool, module_dir, env, say)
    run("go", "mod", "init", "gitward.local/toolchain")
    if tool.pin_staging:
        gomod = Path(
            json.loads(run("go", "mod", "download", "-json", f"{tool.module}@{tool.version}"))["GoMod"]
        )
        text = gomod.read_text()
        published = staging_version(tool.version)
        for module in staging_replaces(text):
            run("go", "mod", "edit", f"-replace={module}={module}@{published}")
        # Kubernetes pins runtime behaviour with a godebug block; the binary must match it.
        run("go", "mod", "edit", f"-godebug=default=go1.{go_minor(text)}")
    run("go", "get", "-tool", *(f"{p}@{tool.version}" for p in tool.packages))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    ldflags = " ".join(("-s", "-w", *tool.ldflags))
    # One package builds to a file; several build into a folder (the trailing "/").
    out = str(bin_dir / tool.commands[0]) if len(tool.packages) == 1 else str(bin_dir) + "/"
    run("go", "build", "-trimpath", f"-ldflags={ldflags}", "-o", out, *tool.packages)
    if tool.data:
        source = Path(
            json.loads(run("go", "mod", "download", "-json", f"{tool.module}@{tool.version}"))["Dir"]
        )
        (work / "share").mkdir()
        for item in tool.data:
            shutil.copyfile(source / item, work / "share" / Path(item).name)
    shutil.rmtree(module_dir)
    (work / ".complete").write_text(
        json.dumps({"tool": tool.name, "version": tool.version, "built_at": time.time()}) + "\n"
    )
    shutil.rmtree(tool.directory, ignore_errors=True)
    work.rename(tool.directory)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never let Go fetch a different toolchain: the pinned versions were chosen
    # to build with the machine's own Go.
    env["GOTOOLCHAIN"] = "local"
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


def _runner(tool: Tool, cwd: Path, env: dict[str, str], say: Progress) -> Callable[..., str]:
    log = cwd.parent / "build.log"

    def run(*argv: str) -> str:
        with log.open("a") as sink, _heartbeat(say, f"{tool.name}: {' '.join(argv[:2])}"):
            sink.write(f"$ {' '.join(argv)}\n")
            sink.flush()
            proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=sink, text=True)
        if proc.returncode != 0:
            kept = tool.directory.with_name(tool.directory.name + ".failed.log")
            shutil.copyfile(log, kept)
            step = " ".join(argv[:3])
            raise ToolchainError(
                f"{tool.name} {tool.version}: `{step}` failed (exit {proc.returncode}); see {kept}"
            )
        return proc.stdout

    return run


@contextmanager
def _heartbeat(say: Progress, what: str, every: float = 30.0) -> Iterator[None]:
    """Print a line every `every` seconds so a long cold build is visibly alive."""
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            say(f"    still running {what} ({_human(time.monotonic() - started)})")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextmanager
def _build_lock() -> Iterator[None]:
    with (cache_root() / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _human(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
