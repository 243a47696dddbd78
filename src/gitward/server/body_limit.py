"""Every request body the server reads is capped: per request, for all requests at once, and in time.

Anyone who can reach the server can send a body, before any token or
signature is checked: FastAPI reads a route's JSON body before its
dependencies run, and a webhook's signature covers the whole body. So the
cap sits under every route, at the ASGI level, where the body arrives chunk
by chunk (uvicorn stops reading the socket until the app asks for more):

- per request: a `Content-Length` over the route's limit is answered 413 at
  once; without one, or when it lies, the chunks are counted as they arrive
  and the request is answered 413 as soon as they pass it;
- all requests together: the bytes held by bodies still being read or in
  use are bounded by one budget; a request that would pass it is answered
  503 with Retry-After, so a thousand parallel uploads cannot add up to what
  one may not;
- in time: a body must arrive within `deadline` seconds (408 otherwise), so
  a slow sender cannot hold its share of the budget for ever.

After a refusal the rest of an upload is read and dropped by uvicorn, not
kept: closing the connection at once would make the kernel reset it, and
the sender (a Git host among them) would never read why it was refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MiB = 1024 * 1024
# GitHub caps webhook payloads at 25 MB and lists at most 20 commits; a real push is far smaller.
MAX_WEBHOOK_BODY = 16 * MiB
MAX_API_BODY = 1 * MiB  # a sync request naming thousands of resources is still under 1 MiB
IN_FLIGHT_BUDGET = 64 * MiB
BODY_DEADLINE = 30.0
WEBHOOK_PATH = "/api/webhook"


def route_limit(path: str) -> int:
    """The largest body a request to `path` may send."""
    return MAX_WEBHOOK_BODY if path.rstrip("/") == WEBHOOK_PATH else MAX_API_BODY


class BodyBudget:
    """Bytes held by request bodies across the process; the event loop is the only writer."""

    def __init__(self, limit: int = IN_FLIGHT_BUDGET) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used = max(0, self.used - size)


def _mib(size: int) -> str:
    return f"{size / MiB:g} MiB"


def _refusal(status: int, detail: str, retry: bool = False) -> HTTPException:
    return HTTPException(status, detail, headers={"Retry-After": "5"} if retry else None)


class BodyLimit:
    """ASGI middleware: caps every http request's body (see the module's docstring).

    A refusal is not raised into the app (a middleware between would wrap it
    in an ExceptionGroup, and FastAPI turns body errors into 400): the app is
    told the client went away, whatever it answers to that is dropped, and
    the refusal is sent instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: Callable[[str], int] = route_limit,
        budget: BodyBudget | None = None,
        deadline: float = BODY_DEADLINE,
    ) -> None:
        self.app = app
        self.limit = limit
        self.budget = budget or BodyBudget()
        self.deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(str(scope.get("path") or ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(_refusal(413, f"request body over {_mib(limit)}"), scope, receive, send)
            return
        ends = asyncio.get_running_loop().time() + self.deadline
        held = 0
        read = False
        refusal: HTTPException | None = None
        started = False

        async def whole() -> Message:
            """The whole body, read on the app's first call; a disconnect if it is refused.

            The chunks live here only: a refused body is dropped at once, not
            kept alive by the app's exception (whose traceback holds the frames
            that would otherwise have gathered it) until the cyclic GC runs.
            """
            nonlocal held, read, refusal
            if read:
                # The body was handed over: only a disconnect can come (a stream waits for it).
                return {"type": "http.disconnect"} if refusal is not None else await receive()
            read = True
            chunks: list[bytes] = []
            more = True
            try:
                async with asyncio.timeout_at(ends):
                    while more:
                        message = await receive()
                        if message["type"] != "http.request":
                            return message  # the client went away
                        chunk = message.get("body", b"")
                        more = bool(message.get("more_body", False))
                        if held + len(chunk) > limit:
                            refusal = _refusal(413, f"request body over {_mib(limit)}")
                        elif not self.budget.take(len(chunk)):
                            refusal = _refusal(
                                503, "the server is reading too many request bodies at once", True
                            )
                        if refusal is not None:
                            chunks.clear()
                            return {"type": "http.disconnect"}
                        held += len(chunk)
                        chunks.append(chunk)
            except TimeoutError:
                chunks.clear()
                refusal = _refusal(408, f"request body not received within {self.deadline:g}s")
                return {"type": "http.disconnect"}
            body = b"".join(chunks)
            chunks.clear()
            return {"type": "http.request", "body": body, "more_body": False}

        async def watched(message: Message) -> None:
            nonlocal started
            if refusal is not None and not started:
                return  # the app's answer to a "disconnect": the refusal goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, whole, watched)
        except Exception:
            if refusal is None or started:
                raise  # the app failed on its own account
        finally:
            self.budget.give(held)
        if refusal is not None and not started:
            await _answer(refusal, scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _answer(problem: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": problem.detail}, problem.status_code, headers=problem.headers)
    await response(scope, receive, send)
