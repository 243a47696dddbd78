"""POST /api/webhook: a Git host's push refreshes the Applications it concerns, within a second.

The order of checks is what a caller may learn: an unrecognised request
is 400; then the sender must prove the provider's secret (401 otherwise,
with nothing touched); only then is the event read. A push is answered 202
at once, and the refresh patches happen after, coalesced (webhook_refresh).
Bitbucket Server's connection test (`diagnostics:ping`) is answered 200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from prometheus_client import Counter

from gitward.kube import Connection
from gitward.server.index import AppIndex
from gitward.server.state import ServerSettings
from gitward.server.webhook_auth import Unauthorized, WebhookSecrets
from gitward.server.webhook_match import matching
from gitward.server.webhook_payloads import PayloadError, detect, is_ping, is_push, parse
from gitward.server.webhook_refresh import RefreshQueue

MAX_BODY = 16 * 1024 * 1024  # GitHub caps payloads at 25 MB; a push that large names too many files anyway

SHOWN = 100  # apps named in the answer; a monorepo push may concern thousands

REQUESTS = Counter(
    "gitward_webhook_requests_total", "Webhook requests, by provider and outcome.", ["provider", "result"]
)

router = APIRouter()


class Webhooks:
    """What the endpoint keeps between requests: the secrets' copy and the refresh queue."""

    def __init__(self, connection: Connection, index: AppIndex, settings: ServerSettings) -> None:
        self.index = index
        self.secrets = WebhookSecrets(connection, settings.namespace)
        self.refreshes = RefreshQueue(connection, index, settings)

    async def stop(self) -> None:
        await self.refreshes.stop()


@router.post("/api/webhook", status_code=202)
async def webhook(request: Request) -> JSONResponse:
    """A signed push from GitHub, GitLab, Gitea, Gogs or Bitbucket (Cloud or Server): which apps refresh."""
    hooks: Webhooks = request.app.state.webhooks
    found = detect(request.headers)
    if found is None:
        REQUESTS.labels("unknown", "unknown").inc()
        raise HTTPException(
            400,
            "not a known webhook: expected X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event, X-Gogs-Event"
            " or X-Event-Key",
        )
    provider, event = found
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        REQUESTS.labels(provider, "too_large").inc()
        raise HTTPException(413, f"payload over {MAX_BODY // (1024 * 1024)} MiB")
    body = await request.body()
    if len(body) > MAX_BODY:
        REQUESTS.labels(provider, "too_large").inc()
        raise HTTPException(413, f"payload over {MAX_BODY // (1024 * 1024)} MiB")
    try:
        await hooks.secrets.verify(provider, request.headers, body)
    except Unauthorized as refused:
        REQUESTS.labels(provider, "unauthorized").inc()
        raise HTTPException(401, str(refused)) from None
    if is_ping(provider, event):
        REQUESTS.labels(provider, "ping").inc()
        return JSONResponse({"provider": provider, "ping": "ok"}, 200)
    if not is_push(provider, event):
        REQUESTS.labels(provider, "ignored").inc()
        return JSONResponse({"provider": provider, "ignored": f"event {event!r} is not a push"}, 202)
    try:
        push = parse(provider, body)
    except PayloadError as problem:
        REQUESTS.labels(provider, "bad_payload").inc()
        raise HTTPException(400, str(problem)) from None
    apps = matching(hooks.index.objects(), push)
    hooks.refreshes.add(apps, push.sha)
    REQUESTS.labels(provider, "accepted").inc()
    answer: dict[str, Any] = {
        "provider": provider,
        "refs": list(push.refs),
        "files": None if push.files is None else len(push.files),
        "refreshing": len(apps),
        "apps": [f"{namespace}/{name}" for namespace, name in apps[:SHOWN]],
    }
    return JSONResponse(answer, 202)
