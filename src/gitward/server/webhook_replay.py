"""Webhook deliveries already acted on, so that a replayed one refreshes nothing.

A delivery is known by two keys, and a second delivery with either is a
replay:
- the provider's delivery id (the header below), which a host keeps when it
  retries or redelivers the same event;
- the SHA-256 of the body. The signature covers the body only, never the
  delivery header, so whoever captured a signed delivery can send it again
  with a fresh id or none; the body is what they cannot change.

The memory is bounded twice: an entry expires after `ttl` (a replay after
that costs one refresh, which the Git poll would have caused anyway), and
the oldest entries go first when there are more than `size`. A delivery is
remembered only once it was authenticated and parsed, so neither a forged
request nor a failed attempt keeps the host's retry from being acted on.

A real push that repeats an earlier body byte for byte within `ttl` (a
branch moved from A to B, back, and to B again) is taken for a replay; the
poll brings it in.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from gitward.server.webhook_payloads import Provider

# Each provider's id of one event's delivery, kept across its retries, in the order tried.
DELIVERY_HEADERS: dict[Provider, tuple[str, ...]] = {
    Provider.github: ("x-github-delivery",),
    # Idempotency-Key is the same on GitLab's retries of one event; X-Gitlab-Event-UUID names the event.
    Provider.gitlab: ("idempotency-key", "x-gitlab-event-uuid"),
    Provider.gitea: ("x-gitea-delivery",),
    Provider.gogs: ("x-gogs-delivery",),
    # Not X-Hook-UUID: that names the webhook, the same on every delivery.
    Provider.bitbucket: ("x-request-uuid",),
    Provider.bitbucketserver: ("x-request-id",),
}
TTL = 600.0
SIZE = 10_000
_MAX_ID = 200  # a longer header is not a provider's id: it is not kept, so it cannot fill the memory


def delivery_keys(provider: Provider, headers: Mapping[str, str], body: bytes) -> list[str]:
    """The keys a delivery is known by: its body's digest, and its delivery id when it has one."""
    keys = [f"{provider}:body:{hashlib.sha256(body).hexdigest()}"]
    for header in DELIVERY_HEADERS[provider]:
        value = (headers.get(header) or "").strip()
        if value and len(value) <= _MAX_ID:
            keys.append(f"{provider}:id:{value}")
            break
    return keys


class Deliveries:
    """Delivery keys, each kept for `ttl`, at most `size` of them (the oldest dropped first)."""

    def __init__(
        self, ttl: float = TTL, size: int = SIZE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._expires: OrderedDict[str, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._expires)

    def replayed(self, keys: list[str]) -> bool:
        """Whether any key was seen within the TTL; if none was, all are remembered from now.

        Synchronous on purpose: nothing else runs between the check and the
        record, so two copies sent at once cannot both pass.
        """
        now = self.clock()
        while self._expires and next(iter(self._expires.values())) <= now:
            self._expires.popitem(last=False)
        if any(key in self._expires for key in keys):
            return True  # a replay does not extend the original's time
        for key in keys:
            self._expires[key] = now + self.ttl
        while len(self._expires) > self.size:
            self._expires.popitem(last=False)
        return False
