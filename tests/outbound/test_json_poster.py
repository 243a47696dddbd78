"""Notification POSTs: the receiver gets the JSON body, and a redirect is an answer, never followed
(it could send the message, and the URL's token, elsewhere)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gitward.outbound import JsonPoster


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, dict[str, Any]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.path, json.loads(self.rfile.read(length))))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(200 if self.path == "/hook" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_the_receiver_gets_the_body_and_its_status_is_the_answer(receiver: Receiver) -> None:
    async with JsonPoster(timeout=5.0) as poster:
        assert await poster.post(receiver.url("/hook"), {"text": "synced"}) == 200
        assert await poster.post(receiver.url("/gone"), {"text": "again"}) == 404
    assert receiver.received == [("/hook", {"text": "synced"}), ("/gone", {"text": "again"})]


async def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    async with JsonPoster(timeout=5.0) as poster:
        assert await poster.post(receiver.url("/moved"), {"text": "x"}) == 307
    assert [path for path, _ in receiver.received] == ["/moved"]
