"""POST /api/webhook: a Git host's push refreshes the Applications it concerns, within a second.

The order of checks is what a caller may learn: an unrecognised request
is 400; then the sender must prove the provider's secret (401 otherwise,
the same answer whatever the reason, with nothing touched), first from its headers alone, before a byte of the
body is read, then with the body's signature; only then is the event read.
The body itself is capped by `body_limit` (413), like every request's.

A push is answered 202 at once with the number of apps it refreshes, never
their names: the provider's secret is shared by every project, so whoever
holds it must not learn which apps other projects have. The refresh patches
happen after, coalesced (webhook_refresh). A delivery already acted on (the
same id, or the same signed body: `webhook_replay`) is answered 200 with
`"duplicate": true` and refreshes nothing. Bitbucket Server's connection
test (`diagnostics:ping`) is answered 200.
"""

from __future__ import annotations

import structlog
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
from gitward.server.webhook_replay import Deliveries, delivery_keys

REQUESTS = Counter(
    "gitward_webhook_requests_total", "Webhook requests, by provider and outcome.", ["provider", "result"]
)

log = structlog.get_logger(__name__)

router = APIRouter()


class Webhooks:
    """What the endpoint keeps between requests: the secrets' copy, deliveries seen, the refresh queue."""

    def __init__(self, connection: Connection, index: AppIndex, settings: ServerSettings) -> None:
        self.index = index
        self.secrets = WebhookSecrets(connection, settings.namespace)
        self.deliveries = Deliveries()
        self.refreshes = RefreshQueue(connection, index, settings)

    async def stop(self) -> None:
        await self.refreshes.stop()


@router.post("/api/webhook", status_code=202)
async def webhook(request: Request) -> JSONResponse:
    """A signed push from GitHub, GitLab, Gitea, Gogs or Bitbucket (Cloud or Server): apps refreshed."""
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
    try:
        await hooks.secrets.verify(provider, request.headers, None)  # before reading the body
        body = await _body(request, provider)
        await hooks.secrets.verify(provider, request.headers, body)
    except Unauthorized as refused:
        REQUESTS.labels(provider, "unauthorized").inc()
        # The reason (no secret configured, header missing, signature wrong) is the operator's, in
        # the server's log: told to the caller, it would say which providers this server trusts.
        log.warning("webhook refused", provider=provider, reason=str(refused))
        raise HTTPException(
            401, f"{provider} webhook not authenticated (the server's log says why)"
        ) from None
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
    if hooks.deliveries.replayed(delivery_keys(provider, request.headers, body)):
        REQUESTS.labels(provider, "duplicate").inc()
        return JSONResponse({"provider": provider, "duplicate": True, "refreshed": 0}, 200)
    apps = matching(hooks.index.objects(), push)
    hooks.refreshes.add(apps, push.sha)
    REQUESTS.labels(provider, "accepted").inc()
    return JSONResponse({"provider": provider, "duplicate": False, "refreshed": len(apps)}, 202)


_REFUSED = {413: "too_large", 408: "too_slow", 503: "busy"}


async def _body(request: Request, provider: str) -> bytes:
    """The body, read through body_limit.BodyLimit's cap (413, 408 or 503 past it), counted when refused."""
    try:
        return await request.body()
    except HTTPException as refused:
        REQUESTS.labels(provider, _REFUSED.get(refused.status_code, "refused")).inc()
        raise
