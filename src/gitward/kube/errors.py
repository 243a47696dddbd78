"""Errors from the apiserver, reduced to what callers decide on: code, reason, message, fields."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(eq=False)  # exceptions compare by identity
class KubeError(Exception):
    """`code` is the HTTP status (0 when the server was not reached); `reason` is Kubernetes' StatusReason."""

    code: int
    reason: str
    message: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def gone(self) -> bool:
        return self.code == 410

    @property
    def transient(self) -> bool:
        """The apiserver could not answer now (unreachable, overloaded, restarting, its etcd away):
        the same request may succeed later, and this answer says nothing about the object."""
        return self.reason == "Unreachable" or self.code in (429, 500, 502, 503, 504)


def error_from_response(code: int, content: bytes, what: str) -> KubeError:
    """A KubeError from a Status body; the message is the server's, which names the object and field."""
    try:
        status = json.loads(content)
    except ValueError:
        status = None
    if not isinstance(status, dict):
        return KubeError(code, "Unknown", f"{what}: HTTP {code}")
    details = status.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    fields = tuple(
        str(c["field"]) for c in causes or () if isinstance(c, dict) and isinstance(c.get("field"), str)
    )
    return KubeError(code, str(status.get("reason") or "Unknown"), str(status.get("message") or what), fields)
