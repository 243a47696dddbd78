"""The FastAPI application: REST API, live stream, probes, metrics, and its OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from prometheus_client import REGISTRY, Counter, Histogram

from gitward import __version__
from gitward.controller.metrics import CONTENT_TYPE, exposition
from gitward.server.api import router
from gitward.server.auth import Principal
from gitward.server.body_limit import BodyLimit
from gitward.server.principal import caller, metrics_reader
from gitward.server.state import Connect, ServerSettings, ServerState
from gitward.server.stream import changes
from gitward.server.ui import serve_ui
from gitward.server.webhook import Webhooks
from gitward.server.webhook import router as webhook_router

REQUESTS = Counter("gitward_server_requests_total", "API requests answered.", ["method", "route", "code"])
LATENCY = Histogram(
    "gitward_server_request_duration_seconds",
    "Time to answer an API request (a stream counts until its headers are sent).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def create_app(connect: Connect, settings: ServerSettings) -> FastAPI:
    """The API server; `connect` makes its cluster connection inside the server's event loop."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with connect() as connection:
            state = ServerState(connection, settings)
            app.state.gitward = state
            app.state.webhooks = Webhooks(connection, state.index, settings)
            await state.start()
            try:
                yield
            finally:
                await app.state.webhooks.stop()
                await state.stop()

    app = FastAPI(
        title="gitward",
        version=__version__,
        description="Applications as the gitward controller sees them, and requests to act on them.",
        lifespan=lifespan,
    )
    app.include_router(router)
    app.include_router(webhook_router)

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        LATENCY.labels(route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz() -> str:
        return "ok\n"

    @app.get("/readyz", response_class=PlainTextResponse, include_in_schema=False)
    def readyz(request: Request) -> PlainTextResponse:
        ready = request.app.state.gitward.ready
        return PlainTextResponse(
            "ok\n" if ready else "not ready: applications not listed yet\n", 200 if ready else 503
        )

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request, who: Annotated[Principal, Depends(metrics_reader)]) -> Response:
        """Every app of every project (URLs redacted): for a token of all projects, or --role metrics."""
        state: ServerState = request.app.state.gitward
        return Response(exposition(REGISTRY, state.metrics), media_type=CONTENT_TYPE)

    @app.get("/api/v1/stream")
    def stream(
        request: Request, who: Annotated[Principal, Depends(caller)], project: str = ""
    ) -> StreamingResponse:
        """Server-sent events: `added`, `modified`, `deleted`, each with the app's list summary."""
        state: ServerState = request.app.state.gitward

        def visible(item: Mapping[str, Any]) -> bool:
            name = item["spec"]["project"]
            return who.can_read(name) and (not project or name == project)

        return StreamingResponse(
            changes(state.index, visible, state.settings.heartbeat),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # Outermost but for Starlette's error handler: no route reads a body past its cap.
    app.add_middleware(BodyLimit)

    if settings.ui_dir is not None:
        serve_ui(app, settings.ui_dir)  # last: its catch-all route must not shadow the API's
    return app
