"""The request counter tells writes from reads and from server-side dry runs."""

from __future__ import annotations

from prometheus_client import REGISTRY

from gitward.kube import metrics


def value(verb: str, dry_run: str) -> float:
    found = REGISTRY.get_sample_value("gitward_kube_requests_total", {"verb": verb, "dry_run": dry_run})
    return found or 0.0


def test_verbs_are_kubernetes_verbs_and_dry_runs_are_counted_apart() -> None:
    before = {
        k: value(*k) for k in [("patch", "true"), ("patch", "false"), ("delete", "true"), ("get", "false")]
    }

    metrics.count("PATCH", {"fieldManager": "gitward", "dryRun": "All"})
    metrics.count("PATCH", {"fieldManager": "gitward"})
    metrics.count("DELETE", None, {"kind": "DeleteOptions", "dryRun": ["All"]})
    metrics.count("GET", {"labelSelector": "a=b"})

    assert value("patch", "true") == before[("patch", "true")] + 1
    assert value("patch", "false") == before[("patch", "false")] + 1
    assert value("delete", "true") == before[("delete", "true")] + 1
    assert value("get", "false") == before[("get", "false")] + 1
    assert metrics.verb("POST") == "create" and metrics.verb("WATCH") == "watch"
    assert "patch" in metrics.WRITE_VERBS and "get" not in metrics.WRITE_VERBS
