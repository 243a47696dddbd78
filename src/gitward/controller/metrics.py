"""The controller's Prometheus metrics, and the small HTTP endpoint that serves them with the probes.

Names follow Argo CD's (`argocd_app_info`, `argocd_app_reconcile`, ...) under
`gitward_`, so existing dashboards need only the prefix changed. Per-app
gauges are not kept up to date by hand: `AppInfoCollector` reads the watch
store when Prometheus scrapes, so they can never drift from what the
controller (or the API server) sees. The Git fetch histogram lives in
`gitward.source.mirror`, the only place that sees a fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gitward.model.health import HealthStatus
from gitward.model.redact import redact_url
from gitward.model.status import SyncStatusCode

log = structlog.get_logger(__name__)

_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)

RECONCILE_SECONDS = Histogram(
    "gitward_app_reconcile_duration_seconds",
    "Duration of one reconcile of one app (its _count is the number of reconciles).",
    ["result"],
    buckets=_DURATION_BUCKETS,
)
SYNC_TOTAL = Counter(
    "gitward_app_sync_total",
    "Sync operations run, by app and final phase.",
    ["namespace", "name", "project", "phase", "dry_run"],
)
SYNC_SECONDS = Histogram(
    "gitward_app_sync_duration_seconds",
    "Duration of one sync operation, from its start to its end.",
    ["phase"],
    buckets=_DURATION_BUCKETS,
)
QUEUE_DEPTH = Gauge("gitward_workqueue_depth", "Apps waiting in the controller's work queue.")
QUEUE_ADDS = Counter("gitward_workqueue_adds_total", "Apps put on the work queue (duplicates not counted).")
QUEUE_RETRIES = Counter("gitward_workqueue_retries_total", "Apps queued again after a failed reconcile.")


def record_sync(app: Mapping[str, Any], phase: str, seconds: float, dry_run: bool) -> None:
    metadata = app.get("metadata") or {}
    project = str((app.get("spec") or {}).get("project") or "default")
    SYNC_TOTAL.labels(
        str(metadata.get("namespace", "")),
        str(metadata.get("name", "")),
        project,
        phase,
        str(dry_run).lower(),
    ).inc()
    SYNC_SECONDS.labels(phase).observe(max(0.0, seconds))


APP_INFO_LABELS = (
    "namespace",
    "name",
    "project",
    "repo",
    "dest_server",
    "dest_namespace",
    "sync_status",
    "health_status",
    "operation",
)


def app_info_labels(app: Mapping[str, Any]) -> list[str]:
    """The label values of `gitward_app_info` for one Application object, in APP_INFO_LABELS order.

    URLs are redacted: a spec's repoURL may hold `user:password@`, and whoever
    scrapes metrics must not learn another team's credentials from a label.
    """
    metadata = app.get("metadata") or {}
    spec = app.get("spec") or {}
    status = app.get("status") or {}
    source: Mapping[str, Any] = spec.get("source") or next(iter(spec.get("sources") or []), None) or {}
    destination = spec.get("destination") or {}
    operation = status.get("operationState") or {}
    return [
        str(metadata.get("namespace", "")),
        str(metadata.get("name", "")),
        str(spec.get("project") or "default"),
        redact_url(str(source.get("repoURL") or source.get("chart") or "")),
        redact_url(str(destination.get("server") or destination.get("name") or "")),
        str(destination.get("namespace") or ""),
        str((status.get("sync") or {}).get("status") or SyncStatusCode.unknown),
        str((status.get("health") or {}).get("status") or HealthStatus.unknown),
        str(operation.get("phase") or ""),
    ]


class AppInfoCollector(Collector):
    """`gitward_app_info` (value 1) per Application, read from a store at scrape time."""

    def __init__(self, apps: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
        self._apps = apps

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "gitward_app_info",
            "One series per Application: its sync and health status.",
            labels=APP_INFO_LABELS,
        )
        for app in self._apps():
            family.add_metric(app_info_labels(app), 1.0)
        yield family


def exposition(*registries: CollectorRegistry) -> bytes:
    """The text format of every registry given (the process-wide one by default)."""
    return b"".join(generate_latest(r) for r in registries or (REGISTRY,))


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MAX_REQUEST = 16 * 1024


class ProbeServer:
    """`/healthz`, `/readyz` and `/metrics` over plain HTTP on the controller's health port.

    A few lines of asyncio rather than an ASGI server: the controller needs
    three GET routes, and a full server would also take over signal handling
    in the controller's process.
    """

    def __init__(
        self,
        port: int,
        ready: Callable[[], bool],
        registries: tuple[CollectorRegistry, ...] = (),
        host: str = "0.0.0.0",  # noqa: S104 - the kubelet probes the pod's IP
    ) -> None:
        self.port = port
        self.host = host
        self.ready = ready
        self.registries = registries
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])  # the real one when 0 asked for any free port
        log.info("probe endpoint listening", port=self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def answer(self, method: str, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        route = path.partition("?")[0]
        if route == "/healthz":
            return 200, "text/plain", b"ok\n"
        if route == "/readyz":
            return (200, "text/plain", b"ok\n") if self.ready() else (503, "text/plain", b"not ready\n")
        if route == "/metrics":
            return 200, CONTENT_TYPE, exposition(*self.registries)
        return 404, "text/plain", b"not found\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, path, _ = head[:_MAX_REQUEST].decode("latin-1").split(" ", 2)
            status, content_type, body = self.answer(method, path)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            status, content_type, body, method = 400, "text/plain", b"bad request\n", "GET"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(
            status, "Service Unavailable"
        )
        header = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(header.encode() + (body if method != "HEAD" else b""))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
