"""JSON POSTs to receivers outside the cluster (notification webhooks), over aiohttp.

The same client stack as the cluster connection (`gitward.kube.connection`):
one HTTP library at run time. A receiver's URL may hold a credential (a Slack
incoming-webhook URL is one), so nothing here puts it into a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp


class JsonPoster:
    """One session for many POSTs; use as `async with JsonPoster(timeout) as poster`."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> JsonPoster:
        # trust_env=False: a proxy from the environment must not see notifications (or their URLs).
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout), trust_env=False, raise_for_status=False
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: Mapping[str, Any]) -> int:
        """POST `body` as JSON; the HTTP status. A redirect is not followed: its status is the answer."""
        if self._session is None:
            raise RuntimeError("JsonPoster is used outside `async with`")
        async with self._session.post(url, json=body, allow_redirects=False) as response:
            return response.status
