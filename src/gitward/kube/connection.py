"""One connection to one cluster: lightkube's configuration and HTTP client, with dict bodies.

lightkube reads kubeconfigs (certificates, tokens, exec plugins) and the
in-cluster service account, rotating its token, and builds the HTTP/2
client. Its typed resource layer wants a class per kind; gitward handles any
kind, including CRDs it discovers at run time, so requests go through the
same client with paths from `gitward.kube.discovery` and dicts as bodies.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from gitward.kube import metrics
from gitward.kube.errors import KubeError, error_from_response

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass
class Connection:
    """Requests to one apiserver; use `from_kubeconfig` or `in_cluster`, close with `aclose`."""

    http: httpx2.AsyncClient
    server: str
    requests: dict[str, int] = field(default_factory=dict)
    # Watches get HTTP/1.1 connections of their own. On a shared HTTP/2
    # connection, a quiet watch that waits for data holds the connection's read
    # lock, and a request's answer, already arrived, waits behind it until the
    # watch sees an event (seen here: a dry-run apply stalled for minutes).
    streams: httpx2.AsyncClient | None = None

    @classmethod
    def from_config(cls, config: SingleConfig, timeout: float = 30.0) -> Connection:
        params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False, http2=True)
        stream_params = client_adapter.ConnectionParams(
            timeout=httpx2.Timeout(timeout), trust_env=False, http2=False
        )
        return cls(
            client_adapter.AsyncClient(config, params),
            str(config.cluster.server),
            streams=client_adapter.AsyncClient(config, stream_params),
        )

    @classmethod
    def from_kubeconfig(cls, path: Path, context: str | None = None) -> Connection:
        try:
            config = KubeConfig.from_file(path).get(context)
        except Exception as exc:  # lightkube raises several types for a bad file; the user needs one line
            raise KubeError(0, "BadConfig", f"kubeconfig {path}: {exc}") from exc
        if config is None:
            raise KubeError(0, "BadConfig", f"kubeconfig {path}: no context {context or '(current)'}")
        return cls.from_config(config)

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
        try:
            response = await self.http.request(method, path, params=params, content=content, headers=headers)
        except httpx2.HTTPError as exc:
            raise KubeError(0, "Unreachable", f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.content, f"{method} {path}")
        return response.json() if response.content else None

    async def watch(self, path: str, params: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Stream watch events until the server ends the watch; errors before the stream are KubeErrors."""
        self._count("WATCH")
        timeout = httpx2.Timeout(30.0, read=None)
        try:
            async with (self.streams or self.http).stream(
                "GET", path, params={**params, "watch": "true"}, timeout=timeout
            ) as resp:
                if resp.status_code >= 400:
                    raise error_from_response(resp.status_code, await resp.aread(), f"WATCH {path}")
                async for line in resp.aiter_lines():
                    if line:
                        yield json.loads(line)
        except ValueError as exc:  # a line cut short by a dropped connection
            raise KubeError(0, "BadResponse", f"WATCH {path}: undecodable event") from exc
        except httpx2.HTTPError as exc:
            raise KubeError(0, "Unreachable", f"WATCH {path}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.streams is not None:
            await self.streams.aclose()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
