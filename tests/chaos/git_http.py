"""A Git smart-HTTP server in a process of its own, that a test can hold mid-fetch and kill.

Run as `python -m tests.chaos.git_http BASE PORT CONTROL`: it serves the
repositories under BASE (git http-backend, no auth) on 127.0.0.1:PORT. While
the file CONTROL/hold exists, a fetch (an upload-pack request that wants
objects) gets its headers and the first half of its pack, then nothing
more: CONTROL/in-flight appears, and the fetch stays in flight until the
test kills the process, as when a Git server dies under a client.
`KillableGitServer` is the test's side of it.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from gitward.local.gitserver import free_port
from tests.helpers import eventually
from tests.source.servers import http_backend


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, headers, payload = http_backend(self.server.base, self.command, self.path, self.headers, body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self._held(body):
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            (self.server.control / "in-flight").touch()
            threading.Event().wait()  # until the process is killed
        self.wfile.write(payload)

    def _held(self, body: bytes) -> bool:
        if not (self.server.control / "hold").exists() or not self.path.endswith("git-upload-pack"):
            return False
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return b"command=fetch" in body or b"want " in body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, base: Path, port: int, control: Path) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.base = base
        self.control = control


class KillableGitServer:
    """The server process: started, held, killed (SIGKILL) and started again on the same port."""

    def __init__(self, base: Path, control: Path) -> None:
        self.base = base
        self.control = control
        control.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.control / "ready").unlink(missing_ok=True)
        (self.control / "in-flight").unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "tests.chaos.git_http",
            str(self.base),
            str(self.port),
            str(self.control),
        ]
        self.process = subprocess.Popen(command, cwd=Path(__file__).parents[2])
        eventually(lambda: (self.control / "ready").exists(), timeout=30, what="the Git server to listen")

    def hold(self, on: bool) -> None:
        if on:
            (self.control / "hold").touch()
        else:
            (self.control / "hold").unlink(missing_ok=True)

    def in_flight(self) -> bool:
        return (self.control / "in-flight").exists()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)


def main(base: str, port: str, control: str) -> None:
    server = _Server(Path(base), int(port), Path(control))
    (Path(control) / "ready").touch()
    server.serve_forever()


if __name__ == "__main__":
    os.environ.pop("GIT_DIR", None)
    main(*sys.argv[1:4])
