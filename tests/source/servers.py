"""Real Git servers on 127.0.0.1 for the tests: `git daemon`, and `git http-backend` behind basic auth.

The repository and `git daemon` live in gitward.local.gitserver, which the benchmarks share.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from gitward.local.gitserver import GIT_ENV, Upstream, git, git_daemon

__all__ = ["GIT_ENV", "Upstream", "count_calls", "git", "git_daemon", "http_backend", "http_git_server"]


def http_backend(
    base: Path, method: str, path: str, headers: Message[str, str], body: bytes, user: str = ""
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One smart-HTTP request through `git http-backend` (CGI): its status, headers and payload."""
    parts = urlsplit(path)
    env = {
        **GIT_ENV,
        "GIT_PROJECT_ROOT": str(base),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if user:
        env["REMOTE_USER"] = user
    for header, name in (("Git-Protocol", "GIT_PROTOCOL"), ("Content-Encoding", "HTTP_CONTENT_ENCODING")):
        if headers.get(header):
            env[name] = headers[header]
    done = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, check=False, timeout=60
    )
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    status = 200
    found: list[tuple[str, str]] = []
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            found.append((name, value.strip()))
    return status, found, payload


class _CgiHandler(BaseHTTPRequestHandler):
    server: _GitHttpServer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        expected = base64.b64encode(f"{self.server.username}:{self.server.password}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.requests.append(self.path)
        body = self._body()
        status, headers, payload = http_backend(
            self.server.base, self.command, self.path, self.headers, body, user=self.server.username
        )
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))


class _GitHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, base: Path, username: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _CgiHandler)
        self.base = base
        self.username = username
        self.password = password
        self.requests: list[str] = []


@contextmanager
def http_git_server(base: Path, username: str = "reader") -> Iterator[tuple[str, str, str]]:
    """git http-backend with basic auth; yields (URL prefix, username, password)."""
    password = secrets.token_urlsafe(12)
    server = _GitHttpServer(base, username, password)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", username, password
    finally:
        server.shutdown()
        server.server_close()


def count_calls(log: Path, subcommand: str) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if f" {subcommand} " in f" {line} ")
