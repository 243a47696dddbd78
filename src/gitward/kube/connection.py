"""One connection to one cluster: lightkube's configuration, aiohttp's HTTP, dict bodies.

lightkube reads kubeconfigs (certificates, tokens, exec plugins) and the
in-cluster service account, and builds the TLS context and the credentials
(its auth flows re-read a rotated token or re-run an exec plugin on a 401).
The requests themselves go through aiohttp: at a thousand apps the
controller makes tens of thousands of requests, and httpx's pure-Python
HTTP/2 spent ~1.9 ms of CPU on each against aiohttp's ~0.45 ms (measured
side by side, DESIGN-NOTES "The HTTP client"). gitward handles any kind,
including CRDs it discovers at run time, so paths come from
`gitward.kube.discovery` and bodies are dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from gitward.kube import metrics
from gitward.kube.errors import KubeError, error_from_response

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Requests in flight to one apiserver; more wait for a free connection (watches have their own).
MAX_CONNECTIONS = 64
_UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class _Credentials:
    """The Authorization header lightkube's auth flow (token, token file, exec, basic) gives.

    The flow is run once and its header reused; a 401 runs it again with that
    answer, which is when a rotated token file is re-read or an exec plugin re-run.
    """

    def __init__(self, auth: httpx2.Auth | None, server: str) -> None:
        self.auth = auth
        self.server = server
        self.header: str | None = None
        self.lock = asyncio.Lock()

    async def headers(self, *, renew: bool = False) -> dict[str, str]:
        if self.auth is None:
            return {}
        async with self.lock:
            if self.header is None or renew:
                self.header = await self._run_flow(renew)
        return {"Authorization": self.header} if self.header else {}

    async def _run_flow(self, renew: bool) -> str | None:
        request = httpx2.Request("GET", self.server)
        if self.header:
            request.headers["Authorization"] = self.header
        flow = self.auth.async_auth_flow(request) if self.auth else None
        if flow is None:
            return None
        sent = await flow.__anext__()
        if renew:
            with contextlib.suppress(StopAsyncIteration):  # the flow has nothing newer to offer
                sent = await flow.asend(httpx2.Response(401, request=sent))
        await flow.aclose()
        return sent.headers.get("Authorization")


@dataclass
class Connection:
    """Requests to one apiserver; use `from_kubeconfig` or `in_cluster`, close with `aclose`."""

    server: str
    tls: ssl.SSLContext | None
    credentials: _Credentials
    timeout: float = 30.0
    requests: dict[str, int] = field(default_factory=dict)
    # Made on first use, inside the event loop that uses them (aiohttp binds to one).
    _http: aiohttp.ClientSession | None = None
    # Watches wait for minutes on their connection; they must never hold one requests need.
    _streams: aiohttp.ClientSession | None = None

    @classmethod
    def from_config(cls, config: SingleConfig, timeout: float = 30.0) -> Connection:
        if config.user is None:
            raise KubeError(0, "BadConfig", "kubeconfig: the context names no user")
        server = str(config.cluster.server).rstrip("/")
        tls = None
        if server.startswith("https:"):
            tls = client_adapter.verify_cluster(config.cluster, config.user, config.abs_file, trust_env=False)
        auth = client_adapter.user_auth(config.user)
        return cls(server, tls, _Credentials(auth, server), timeout)

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Connection:
        try:
            config = KubeConfig.from_file(path).get(context)
        except Exception as exc:  # lightkube raises several types for a bad file; the user needs one line
            raise KubeError(0, "BadConfig", f"kubeconfig {path}: {exc}") from exc
        if config is None:
            raise KubeError(0, "BadConfig", f"kubeconfig {path}: no context {context or '(current)'}")
        try:
            return cls.from_config(config)
        except (ConfigError, OSError, ssl.SSLError) as exc:
            raise KubeError(0, "BadConfig", f"kubeconfig {path}: {exc}") from exc

    @classmethod
    def in_cluster(cls, account_dir: Path = SERVICE_ACCOUNT_DIR) -> Connection:
        """The pod's service account (token re-read when it rotates) and KUBERNETES_SERVICE_HOST/PORT."""
        try:
            config = KubeConfig.from_service_account(account_dir).get()
        except (KeyError, ConfigError) as exc:
            raise KubeError(0, "BadConfig", f"not running in a cluster: {exc}") from exc
        if config is None:  # from_service_account always makes one context; mypy cannot know
            raise KubeError(0, "BadConfig", "in-cluster configuration has no context")
        return cls.from_config(config)

    def _session(self, *, stream: bool = False) -> aiohttp.ClientSession:
        if stream:
            if self._streams is None or self._streams.closed:
                connector = aiohttp.TCPConnector(ssl=self.tls if self.tls else False, limit=0)
                self._streams = aiohttp.ClientSession(connector=connector, raise_for_status=False)
            return self._streams
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(ssl=self.tls if self.tls else False, limit=MAX_CONNECTIONS)
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._http = aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False)
        return self._http

    def _count(self, method: str, params: Mapping[str, str] | None = None, body: Any = None) -> None:
        self.requests[method] = self.requests.get(method, 0) + 1
        metrics.count(method, params, body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        """Send one request; the decoded JSON answer, or a KubeError with the server's reason."""
        self._count(method, params, body)
        headers = {"Accept": accept}
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = content_type
        url = self.server + path
        try:
            for renew in (False, True):
                sent = {**headers, **await self.credentials.headers(renew=renew)}
                async with self._session().request(
                    method, url, params=params, data=content, headers=sent
                ) as response:
                    status, answer = response.status, await response.read()
                if status != 401 or self.credentials.auth is None:
                    break
        except _UNREACHABLE as exc:
            raise KubeError(0, "Unreachable", f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if status >= 400:
            raise error_from_response(status, answer, f"{method} {path}")
        return json.loads(answer) if answer else None

    async def watch(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Stream watch events until the server ends the watch; errors before the stream are KubeErrors."""
        self._count("WATCH")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=None)
        try:
            async with self._session(stream=True).get(
                self.server + path,
                params={**params, "watch": "true"},
                headers=await self.credentials.headers(),
                timeout=timeout,
            ) as resp:
                if resp.status >= 400:
                    raise error_from_response(resp.status, await resp.read(), f"WATCH {path}")
                # Split lines by hand: an event is one line of any length (aiohttp's readline caps it).
                pending = b""
                async for chunk in resp.content.iter_any():
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if line.strip():
                            yield json.loads(line)
                if pending.strip():
                    yield json.loads(pending)
        except ValueError as exc:  # a line cut short by a dropped connection
            raise KubeError(0, "BadResponse", f"WATCH {path}: undecodable event") from exc
        except _UNREACHABLE as exc:
            raise KubeError(0, "Unreachable", f"WATCH {path}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        for session in (self._http, self._streams):
            if session is not None and not session.closed:
                await session.close()
        self._http = self._streams = None

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
