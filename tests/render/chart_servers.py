"""Chart repositories on 127.0.0.1 for the tests: a Helm repository behind basic auth, an OCI registry.

The registry is distribution's `registry` binary, built on first use by the
toolchain (an on-demand tool: `make toolchain` does not build it).
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gitward.local import toolchain
from gitward.local.gitserver import free_port
from tests.source.sshd import listening


class _BasicAuthHandler(SimpleHTTPRequestHandler):
    server: _AuthServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        expected = base64.b64encode(f"{self.server.username}:{self.server.password}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="charts"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.served.append(self.path)
        super().do_GET()


class _AuthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, folder: Path, username: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), partial(_BasicAuthHandler, directory=str(folder)))
        self.username = username
        self.password = password
        self.served: list[str] = []
        self.refused = 0


@contextmanager
def basic_auth_folder(folder: Path, username: str, password: str) -> Iterator[_AuthServer]:
    """Serves `folder` over HTTP to requests carrying exactly these basic-auth credentials."""
    server = _AuthServer(folder, username, password)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def helm_env(home: Path) -> dict[str, str]:
    """helm with private homes, for the test's own packaging and pushing."""
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm(helm_bin: str, home: Path, *args: str) -> str:
    done = subprocess.run(
        [helm_bin, *args], env=helm_env(home), capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


@contextmanager
def oci_registry(folder: Path, htpasswd: str = "") -> Iterator[str]:
    """distribution's registry on 127.0.0.1 (plain HTTP), storing under `folder`; yields host:port.

    `htpasswd` (a line `user:bcrypt-hash`) turns on basic auth.
    """
    binary = toolchain.on_demand("registry").path("registry")
    folder.mkdir(parents=True, exist_ok=True)
    auth = ""
    if htpasswd:
        (folder / "htpasswd").write_text(htpasswd + "\n")
        auth = f"auth:\n  htpasswd:\n    realm: charts\n    path: {folder / 'htpasswd'}\n"
    log = folder / "registry.log"
    for _ in range(3):
        port = free_port()
        config = folder / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
            f"{auth}"
        )
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [str(binary), "serve", str(config)], stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
        if not listening(port, process):
            process.kill()
            process.wait()
            continue
        try:
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    raise RuntimeError(f"the registry did not start; its log: {log.read_text()[-2000:]}")
