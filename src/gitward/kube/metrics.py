"""Counters of the requests gitward makes to the apiserver, for /metrics and the benchmarks.

`verb` is Kubernetes' own word for the request (get, create, patch, ...), and
`dry_run` tells server-side dry runs apart: they change nothing, so "no
writes while nothing changes" means no request with a write verb and
dry_run="false".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter

WRITE_VERBS = frozenset({"create", "update", "patch", "delete"})
_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}

REQUESTS = Counter(
    "gitward_kube_requests",
    "Requests to the Kubernetes API, by verb; dry_run marks server-side dry runs.",
    ["verb", "dry_run"],
)


def verb(method: str) -> str:
    """The Kubernetes verb of an HTTP method ("WATCH" is ours: a GET with watch=true)."""
    return _VERBS.get(method.upper(), method.lower())


def count(method: str, params: Mapping[str, str] | None = None, body: Any = None) -> None:
    # A dry run is asked for in the query, except for DELETE, whose DeleteOptions body carries it.
    dry = bool(params and params.get("dryRun")) or (isinstance(body, Mapping) and bool(body.get("dryRun")))
    REQUESTS.labels(verb=verb(method), dry_run="true" if dry else "false").inc()
