"""Findings 7 and 11: the webhook endpoint, attacked by whoever can reach it, and by whoever holds its secret.

- Finding 7: the body limit was read from Content-Length alone, so a chunked
  body (or one whose Content-Length lies) of hundreds of MiB was buffered in
  full, before any signature was checked; four at once took the server to
  1.47 GB. Now the body is counted as it arrives and refused with 413 past
  the cap, all bodies together are bounded, and a request without a valid
  signature header is refused before a byte of its body is read.
- Finding 11: a captured signed delivery could be sent again and again, and
  the 202 named the apps of every project. Now a replay is answered
  `duplicate` and refreshes nothing, and the answer holds a count only.

The server runs in this process (the `serve` fixture), beside the
controller that keeps the bystander healed, so the memory measured is the
server's, and a starved event loop shows as a slow heal.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from prometheus_client.parser import text_string_to_metric_families

from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from gitward.server.body_limit import MAX_WEBHOOK_BODY, BodyBudget, BodyLimit, MiB
from gitward.server.webhook_payloads import Provider
from gitward.server.webhook_replay import Deliveries, delivery_keys
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.server.conftest import Serve, client, free_port, serve  # noqa: F401
from tests.source.servers import Upstream

SECRET = "whsec-" + secrets.token_hex(8)
HUGE = 300 * MiB  # what the attack sends (or would, if the server kept reading)
RSS_BOUND = 100 * MiB  # growth of this process's memory while the attack runs


# --- a client that sends a body as an attacker does ------------------------------------------


async def upload(
    url: str, total: int, headers: dict[str, str], chunk: int = 64 * 1024, path: str = "/api/webhook"
) -> tuple[int, int]:
    """POST `path` with a chunked body of up to `total` bytes; (status, bytes sent before it came).

    Written at the socket: an HTTP client library would refuse to send a
    Content-Length that lies, and would not read the answer before the body
    is all sent.
    """
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode())
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    piece = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total and not answer.done():
            writer.write(piece)
            await writer.drain()
            sent += chunk
        if not answer.done():
            writer.write(b"0\r\n\r\n")
        status = int((await asyncio.wait_for(answer, 30)).split(b" ", 2)[1])
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return status, sent


def rss() -> int:
    resident = Path("/proc/self/statm").read_text().split()[1]
    return int(resident) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def peak_growth() -> Iterator[list[int]]:
    """[growth]: how far above its level at entry this process's RSS went, sampled every 10 ms."""
    base = rss()
    found = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            found[0] = max(found[0], rss() - base)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield found
    finally:
        done.set()
        sampler.join()
        found[0] = max(found[0], rss() - base)


def forged(event: str = "push") -> dict[str, str]:
    """Headers that pass every check the headers alone allow: the body must be read to refuse it."""
    return {"X-GitHub-Event": event, "X-Hub-Signature-256": "sha256=" + "0" * 64}


def webhook_secret(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "create",
        "secret",
        "generic",
        "gitward-webhook",
        "-n",
        namespace,
        f"--from-literal=github.secret={SECRET}",
    )


# --- finding 7: memory ------------------------------------------------------------------------


@pytest.mark.cluster
async def test_huge_chunked_bodies_are_refused_with_413_while_the_servers_memory_stays_bounded(
    cluster: Cluster,
    namespace: str,
    serve: Serve,  # noqa: F811
    bystander: Bystander,
) -> None:
    webhook_secret(cluster, namespace)
    async with serve() as url:
        with peak_growth() as growth:
            # Four at once, as in the report: no Content-Length at all ...
            chunked = await asyncio.gather(*(upload(url, HUGE, forged()) for _ in range(4)))
            # ... then four whose Content-Length says 100 bytes, the check the old code trusted.
            lying = await asyncio.gather(
                *(upload(url, HUGE, {**forged(), "Content-Length": "100"}) for _ in range(4))
            )
            await bystander.heals()
        for status, sent in (*chunked, *lying):
            assert status == 413, (status, sent)
            assert sent < HUGE  # answered while the sender was still sending
        print(f"peak RSS growth while refusing 8 x {HUGE // MiB} MiB: {growth[0] / MiB:.0f} MiB")
        assert growth[0] < RSS_BOUND, f"the server's memory grew by {growth[0] / MiB:.0f} MiB"
        async with client(url) as http:
            small = await http.post("/api/webhook", content=b"{}", headers=forged())
            assert small.status_code == 401  # a body under the cap is read, and its signature refused
        # The API's own routes read a JSON body before the token is checked: capped the same way (1 MiB).
        sync = f"/api/v1/applications/{namespace}/{bystander.name}/sync"
        with peak_growth() as growth:
            answers = await asyncio.gather(*(upload(url, HUGE, {}, path=sync) for _ in range(4)))
        assert [status for status, _ in answers] == [413] * 4, answers
        assert growth[0] < RSS_BOUND


@pytest.mark.cluster
async def test_the_bystander_heals_while_a_flood_of_large_unsigned_bodies_runs(
    cluster: Cluster,
    namespace: str,
    serve: Serve,  # noqa: F811
    bystander: Bystander,
) -> None:
    webhook_secret(cluster, namespace)
    async with serve() as url:
        stop = asyncio.Event()
        answers: dict[int, int] = {}

        async def flood(headers: dict[str, str]) -> None:
            while not stop.is_set():
                status, _ = await upload(url, 64 * MiB, headers)
                answers[status] = answers.get(status, 0) + 1

        with peak_growth() as growth:
            workers = [
                *(asyncio.create_task(flood({"X-GitHub-Event": "push"})) for _ in range(4)),  # unsigned
                *(asyncio.create_task(flood(forged())) for _ in range(2)),  # a signature to check
            ]
            try:
                heals = [await bystander.heals() for _ in range(2)]
            finally:
                stop.set()
                await asyncio.gather(*workers)
        print(f"answers during the flood: {answers}; heals {heals}; RSS growth {growth[0] / MiB:.0f} MiB")
        assert set(answers) <= {401, 413}, answers  # refused, by signature or by size; never a 5xx
        assert answers.get(401, 0) > 0 and answers.get(413, 0) > 0
        assert growth[0] < RSS_BOUND


# --- finding 11: replays and what the answer tells ------------------------------------------


def push_body(url: str, after: str, nonce: str = "") -> bytes:
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": after,
        "repository": {"name": "shop", "clone_url": url, "default_branch": "main"},
        "commits": [{"id": after, "added": [], "modified": ["deploy/web.yaml"], "removed": [], "n": nonce}],
    }
    return json.dumps(payload).encode()


def signed(body: bytes, delivery: str | None) -> dict[str, str]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}"}
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    return headers


async def webhook_counts(http: httpx.AsyncClient) -> dict[str, float]:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        s.labels["result"]: s.value
        for f in text_string_to_metric_families(answer.text)
        if f.name == "gitward_webhook_requests"
        for s in f.samples
        if s.name.endswith("_total") and s.labels.get("provider") == "github"
    }


@pytest.mark.cluster
async def test_a_replayed_signed_delivery_refreshes_nothing_and_no_answer_names_an_app(
    cluster: Cluster,
    connection: Connection,
    namespace: str,
    serve: Serve,  # noqa: F811
    bystander: Bystander,
    repo: tuple[str, Upstream],
) -> None:
    url, upstream = repo
    webhook_secret(cluster, namespace)
    scraper = await create_token(connection, namespace, "prometheus", Role.metrics, ["*"])
    body = push_body(url, upstream.head())
    async with serve() as api, client(api, scraper) as http:
        before = await webhook_counts(http)
        first = await http.post("/api/webhook", content=body, headers=signed(body, "delivery-1"))
        assert first.status_code == 202, first.text
        assert first.json() == {"provider": "github", "duplicate": False, "refreshed": 1}
        assert bystander.name not in first.text and namespace not in first.text

        # The same delivery again; with a new id (the signature does not cover it); with none.
        for delivery in ("delivery-1", "delivery-2", None):
            again = await http.post("/api/webhook", content=body, headers=signed(body, delivery))
            assert again.status_code == 200, again.text
            assert again.json() == {"provider": "github", "duplicate": True, "refreshed": 0}
        after = await webhook_counts(http)
        # `accepted` is counted in the same step that queues the refresh: it did not move, so nothing was.
        assert after.get("accepted", 0) - before.get("accepted", 0) == 1
        assert after.get("duplicate", 0) - before.get("duplicate", 0) == 3

        # A new delivery (another push) is acted on, and its answer names nothing either.
        fresh = push_body(url, upstream.head(), nonce="2")
        answer = await http.post("/api/webhook", content=fresh, headers=signed(fresh, "delivery-3"))
        assert answer.status_code == 202 and answer.json()["refreshed"] == 1
        assert bystander.name not in answer.text
        await bystander.heals()


# --- the parts, without a cluster ------------------------------------------------------------


def test_a_delivery_is_known_by_its_id_and_by_its_body_for_a_time_and_in_bounded_number() -> None:
    now = [0.0]
    memory = Deliveries(ttl=60.0, size=3, clock=lambda: now[0])
    first = delivery_keys(Provider.github, {"x-github-delivery": "d-1"}, b"one")
    assert not memory.replayed(first)
    assert memory.replayed(first)
    assert memory.replayed(delivery_keys(Provider.github, {"x-github-delivery": "d-9"}, b"one"))  # same body
    assert memory.replayed(delivery_keys(Provider.github, {"x-github-delivery": "d-1"}, b"two"))  # same id
    assert not memory.replayed(delivery_keys(Provider.gitea, {"x-gitea-delivery": "d-1"}, b"one"))
    now[0] = 61.0
    assert not memory.replayed(first)  # forgotten after the TTL: a refresh the poll would cause anyway
    for i in range(10):
        memory.replayed(delivery_keys(Provider.gitlab, {"idempotency-key": f"k-{i}"}, b"%d" % i))
    assert len(memory) <= 3
    # A header too long to be a provider's id is not kept (it cannot fill the memory).
    assert len(delivery_keys(Provider.github, {"x-github-delivery": "x" * 10_000}, b"")) == 1


@contextlib.asynccontextmanager
async def tiny_server(
    budget: int, deadline: float, held: asyncio.Event, hold: asyncio.Event
) -> AsyncIterator[str]:
    """A bare app behind BodyLimit, to see its 503 and 408 without a cluster.

    Its route reads the body, says so (`held`), and keeps it until `hold` is set.
    """
    app = FastAPI()

    @app.post("/api/webhook")
    async def read(request: Request) -> dict[str, int]:
        size = len(await request.body())
        held.set()
        await hold.wait()
        return {"size": size}

    app.add_middleware(BodyLimit, budget=BodyBudget(budget), deadline=deadline)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        hold.set()
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)


async def test_bodies_in_flight_together_are_bounded_and_a_slow_one_times_out() -> None:
    held, hold = asyncio.Event(), asyncio.Event()
    async with tiny_server(4 * MiB, 1.0, held, hold) as url:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
            declared = await http.post("/api/webhook", content=b"x" * (MAX_WEBHOOK_BODY + 1))
            assert declared.status_code == 413  # from its Content-Length, before the route runs

            # One 3 MiB body is held by its request; a second cannot fit in the 4 MiB budget beside it.
            first = asyncio.create_task(http.post("/api/webhook", content=b"x" * (3 * MiB)))
            await asyncio.wait_for(held.wait(), 10)
            second = await upload(url, 3 * MiB, {})
            assert second[0] == 503, second
            hold.set()
            answer = await first
            assert answer.status_code == 200 and answer.json() == {"size": 3 * MiB}
            # Its share is given back: the same body now fits.
            assert (await http.post("/api/webhook", content=b"x" * (3 * MiB))).status_code == 200

        # A body that stops arriving is answered 408 at the deadline, not held for ever.
        where = urlsplit(url)
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        writer.write(b"POST /api/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.split(b" ", 2)[1] == b"408", head
        writer.close()
