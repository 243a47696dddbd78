"""JSON in live objects' annotations is tenant input: anyone who can annotate an object writes it.

The apiserver lets an annotation hold 256 KiB, enough for JSON nested far past
the decoder's recursion limit; reading it must give "nothing readable", never
an exception that ends the comparison or the health check of every object.
"""

from __future__ import annotations

from gitward.engine.diff.client_apply import last_applied
from gitward.engine.diff.normalize import LAST_APPLIED
from gitward.engine.health.kinds import horizontal_pod_autoscaler
from gitward.model.health import HealthStatus

DEEP = "[" * 200_000


def test_a_deeply_nested_last_applied_annotation_reads_as_none() -> None:
    assert last_applied({"metadata": {"annotations": {LAST_APPLIED: DEEP}}}) is None


def test_a_deeply_nested_autoscaler_conditions_annotation_reads_as_no_conditions() -> None:
    hpa = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"annotations": {"autoscaling.alpha.kubernetes.io/conditions": DEEP}},
        "status": {},
    }
    assert horizontal_pod_autoscaler(hpa).status == HealthStatus.progressing
