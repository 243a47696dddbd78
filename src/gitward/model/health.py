"""The health of one object, and of many: plain data shared by engine, controller and API."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class HealthStatus(enum.StrEnum):
    """Declared from best to worst: the order is the severity that aggregation compares."""

    healthy = "Healthy"
    suspended = "Suspended"
    progressing = "Progressing"
    missing = "Missing"
    degraded = "Degraded"
    unknown = "Unknown"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {status: rank for rank, status in enumerate(HealthStatus)}


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    message: str = ""


def worst(members: Iterable[Health]) -> Health | None:
    """The worst member's health; None when there is nothing to judge.

    Ties keep the smallest message so the result does not depend on order.
    """
    best: Health | None = None
    for health in members:
        if best is None or (health.status.severity, best.message) > (best.status.severity, health.message):
            best = health
    return best
