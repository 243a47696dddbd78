"""Server-sent events: every change of an app the caller may see, as it reaches the watch.

Each client gets a bounded queue. A client too slow to keep up is cut off
rather than buffered without limit; an EventSource reconnects by itself and
then reloads the list, which is the right recovery after missed changes.
A comment line every `heartbeat` seconds keeps proxies from closing an idle
stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from gitward.server.index import AppIndex

QUEUE_SIZE = 1000
_CLOSED: dict[str, Any] = {}


def frame(change: str, item: Mapping[str, Any]) -> bytes:
    data = json.dumps({"type": change, "application": item}, separators=(",", ":"))
    return f"event: {change.lower()}\ndata: {data}\n\n".encode()


async def changes(
    index: AppIndex,
    visible: Callable[[Mapping[str, Any]], bool],
    heartbeat: float = 15.0,
) -> AsyncIterator[bytes]:
    """The stream's bytes: a first comment (so clients see the connection open), then the changes."""
    queue: asyncio.Queue[tuple[str, Mapping[str, Any]]] = asyncio.Queue(QUEUE_SIZE)

    def hear(change: str, item: Mapping[str, Any]) -> None:
        if not visible(item):
            return
        try:
            queue.put_nowait((change, item))
        except asyncio.QueueFull:
            unsubscribe()
            queue.get_nowait()  # make room for the end marker
            queue.put_nowait(("", _CLOSED))

    unsubscribe = index.listen(hear)
    try:
        yield b": connected\n\n"
        while True:
            try:
                change, item = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if item is _CLOSED:
                return
            yield frame(change, item)
    finally:
        # A listener removed already (the overflow path) must not fail the cleanup.
        with contextlib.suppress(ValueError):
            unsubscribe()
