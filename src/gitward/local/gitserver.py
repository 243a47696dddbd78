"""A local Git remote for tests and benchmarks: a repository to commit to, served by `git daemon`.

Git runs with a clean environment (no system or user config, a fixed
identity), so what a developer's ~/.gitconfig says never changes a result.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


class Upstream:
    """A repository that plays the remote: commits, tags, force-pushes and deletions happen here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--initial-branch=main")
        # What real hosts allow: partial clones, and fetching a reachable commit by SHA.
        git(path, "config", "uploadpack.allowFilter", "true")
        git(path, "config", "uploadpack.allowAnySHA1InWant", "true")
        git(path, "config", "http.receivepack", "false")

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def tag(self, name: str, annotated: bool = False) -> None:
        if annotated:
            git(self.path, "tag", "-a", name, "-m", f"release {name}")
        else:
            git(self.path, "tag", name)

    def switch(self, branch: str, create: bool = False) -> None:
        git(self.path, "switch", "--quiet", *(["-c"] if create else []), branch)

    def rewrite(self, files: dict[str, str]) -> str:
        """Replace the current branch's last commit: what a force-push leaves on the server."""
        git(self.path, "reset", "--quiet", "--hard", "HEAD~1")
        return self.commit(files, "rewritten")

    def delete_branch(self, branch: str) -> None:
        git(self.path, "branch", "-D", branch)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"git daemon exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("git daemon did not start listening")


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """Serves every repository under `base` read-only; yields the git:// URL prefix."""
    # The port is free when chosen but may be taken before the daemon binds it: try again.
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                f"--base-path={base}",
                "--listen=127.0.0.1",
                f"--port={port}",
                str(base),
            ],
            env=GIT_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(port, process)
        except RuntimeError:
            process.kill()
            process.wait()
            continue
        try:
            yield f"git://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    raise RuntimeError("could not start git daemon")
