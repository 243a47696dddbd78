"""Reading and writing Applications: Argo CD's field names, defaults, and errors that name the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitward.model import SpecError
from gitward.model.application import Application, ApplicationSpec
from gitward.model.health import HealthStatus
from gitward.model.status import OperationPhase, SyncStatusCode


def app(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        "source": {"repoURL": "https://example.com/org/repo.git", "path": "deploy"},
    }
    base.update(spec)
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "gitward"},
        "spec": base,
    }


FULL: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {
        "name": "web",
        "namespace": "argocd",
        "finalizers": ["resources-finalizer.argocd.argoproj.io"],
    },
    "spec": {
        "project": "team-a",
        "destination": {"name": "prod", "namespace": "web"},
        "sources": [
            {"repoURL": "https://example.com/charts.git", "path": "web", "targetRevision": "v1.2.0"},
            {"repoURL": "https://example.com/values.git", "targetRevision": "main", "ref": "values"},
        ],
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True, "allowEmpty": True},
            "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
            "retry": {"limit": -1, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "1h30m"}},
            "managedNamespaceMetadata": {"labels": {"team": "a"}, "annotations": {"owner": "me"}},
        },
        "ignoreDifferences": [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec/replicas"],
                "jqPathExpressions": [".spec.template.spec.containers[].image"],
                "managedFieldsManagers": ["kube-controller-manager"],
            }
        ],
        "revisionHistoryLimit": 3,
    },
    "operation": {
        "sync": {
            "revision": "abc123",
            "prune": True,
            "dryRun": True,
            "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
            "syncOptions": ["PruneLast=true"],
        },
        "initiatedBy": {"username": "alice"},
    },
    "status": {
        "sync": {"status": "Synced", "revision": "abc123", "comparedTo": {"destination": {"name": "prod"}}},
        "health": {"status": "Healthy"},
        "resources": [
            {"version": "v1", "kind": "Service", "namespace": "web", "name": "web", "status": "Synced"},
        ],
        "history": [{"id": 0, "revision": "abc123", "deployedAt": "2026-01-01T00:00:00Z"}],
        "operationState": {
            "phase": "Succeeded",
            "message": "successfully synced",
            "startedAt": "2026-01-01T00:00:00Z",
            "finishedAt": "2026-01-01T00:00:05Z",
            "syncResult": {"revision": "abc123", "resources": [{"kind": "Service", "name": "web"}]},
        },
        "conditions": [{"type": "SharedResourceWarning", "message": "also tracked by other"}],
        "reconciledAt": "2026-01-01T00:00:06Z",
        "sourceType": "Helm",
        "summary": {"images": ["nginx:1.27"]},
    },
}


def test_every_field_is_read_and_written_back_unchanged() -> None:
    parsed = Application.from_dict(FULL)
    assert parsed.to_dict() == FULL
    assert Application.from_dict(parsed.to_dict()) == parsed

    assert parsed.compat and parsed.name == "web" and parsed.namespace == "argocd"
    spec = parsed.spec
    assert [s.ref for s in spec.all_sources] == ["", "values"]
    assert spec.sync_policy is not None and spec.sync_policy.retry is not None
    backoff = spec.sync_policy.retry.effective_backoff
    assert (backoff.duration.seconds, backoff.factor, backoff.max_duration.seconds) == (10, 3, 5400)
    assert spec.ignore_differences[0].json_pointers == ("/spec/replicas",)
    assert parsed.operation is not None and parsed.operation.sync is not None
    assert parsed.operation.sync.resources[0].name == "web"
    status = parsed.status
    assert status is not None and status.sync is not None and status.health is not None
    assert status.sync.status is SyncStatusCode.synced
    assert status.health.status is HealthStatus.healthy
    assert status.operation_state is not None and status.operation_state.phase is OperationPhase.succeeded
    # Fields Argo CD writes and gitward does not read are kept, not dropped.
    assert status.extra == {"sourceType": "Helm", "summary": {"images": ["nginx:1.27"]}}


def test_defaults_match_argo_cd() -> None:
    spec = Application.from_dict(app()).spec
    assert spec.project == "default"
    assert spec.revision_history_limit == 10
    assert spec.automated is None
    assert spec.all_sources[0].target_revision == "HEAD"

    # An empty `automated` turns automated sync on, with prune and selfHeal off.
    automated = Application.from_dict(app(syncPolicy={"automated": {}})).spec.automated
    assert automated is not None and not automated.prune and not automated.self_heal
    assert Application.from_dict(app(syncPolicy={"automated": {}})).to_dict()["spec"]["syncPolicy"] == {
        "automated": {}
    }

    retry = Application.from_dict(app(syncPolicy={"retry": {}})).spec.sync_policy
    assert retry is not None and retry.retry is not None
    assert retry.retry.limit == 5
    backoff = retry.retry.effective_backoff
    assert (backoff.duration.seconds, backoff.factor, backoff.max_duration.seconds) == (5, 2, 180)


def test_defaults_are_not_written_out() -> None:
    spelled = app(project="default", revisionHistoryLimit=10, syncPolicy={"automated": {"prune": False}})
    written = Application.from_dict(spelled).to_dict()["spec"]
    assert "project" not in written and "revisionHistoryLimit" not in written
    assert written["syncPolicy"] == {"automated": {}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"syncPolicy": {"automated": {"prune": "yes"}}},
            "spec.syncPolicy.automated.prune: expected true or false, got a string",
        ),
        ({"syncPolicy": {"automatic": {}}}, "spec.syncPolicy: unknown field(s) automatic"),
        ({"revisionHistoryLimit": "10"}, "spec.revisionHistoryLimit: expected a whole number, got a string"),
        ({"revisionHistoryLimit": -1}, "spec.revisionHistoryLimit: must be at least 0, got -1"),
        ({"syncPolicy": {"syncOptions": ["A=b", 3]}}, "spec.syncPolicy.syncOptions[1]: expected a string"),
        (
            {"syncPolicy": {"retry": {"backoff": {"duration": "5 s"}}}},
            "spec.syncPolicy.retry.backoff.duration: '5 s' is not a duration",
        ),
        (
            {"syncPolicy": {"retry": {"backoff": {"duration": "5m", "maxDuration": "1m"}}}},
            "spec.syncPolicy.retry.backoff.maxDuration: 1m is shorter than duration 5m",
        ),
        ({"syncPolicy": {"retry": {"limit": -2}}}, "spec.syncPolicy.retry.limit: must be at least -1"),
        ({"ignoreDifferences": [{"group": "apps"}]}, "spec.ignoreDifferences[0].kind: required"),
        ({"destination": {"namespace": "web"}}, "spec.destination: server or name is required"),
        (
            {"destination": {"server": "https://k", "name": "prod"}},
            "spec.destination: set server or name, not both",
        ),
        ({"sources": [{"repoURL": "https://x"}]}, "spec: set either source or sources, not both"),
        ({"source": {"repoURL": "https://x", "helm": {"skipCrds": 1}}}, "spec.source.helm.skipCrds"),
        ({"colour": "blue"}, "spec: unknown field(s) colour"),
    ],
)
def test_a_wrong_spec_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        Application.from_dict(app(**change))
    assert message in str(caught.value)


def test_missing_spec_and_wrong_kind_are_refused() -> None:
    no_spec = app()
    del no_spec["spec"]
    with pytest.raises(SpecError, match=r"^spec: required$"):
        Application.from_dict(no_spec)
    with pytest.raises(SpecError, match="kind: expected Application, got 'AppProject'"):
        Application.from_dict({**app(), "kind": "AppProject"})
    with pytest.raises(SpecError, match=r"apiVersion: expected one of gitward\.dev/v1alpha1"):
        Application.from_dict({**app(), "apiVersion": "argoproj.io/v1"})
    with pytest.raises(SpecError, match=r"\(top level\): unknown field\(s\) specs"):
        Application.from_dict({**app(), "specs": {}})


def test_the_spec_reads_on_its_own_with_spec_paths() -> None:
    with pytest.raises(SpecError, match=r"spec\.sources\[1\]\.repoURL: required"):
        ApplicationSpec.from_dict(
            {"destination": {"name": "in-cluster"}, "sources": [{"repoURL": "https://x"}, {"path": "a"}]}
        )


def test_status_keeps_unknown_fields_but_checks_known_ones() -> None:
    data = copy.deepcopy(FULL)
    data["status"]["sync"]["status"] = "Maybe"
    with pytest.raises(SpecError, match=r"status\.sync\.status: expected one of Synced, OutOfSync, Unknown"):
        Application.from_dict(data)
    data = copy.deepcopy(FULL)
    data["status"]["operationState"]["retryCount"] = "2"
    with pytest.raises(SpecError, match=r"status\.operationState\.retryCount: expected a whole number"):
        Application.from_dict(data)


def test_operation_is_strict() -> None:
    with pytest.raises(SpecError, match=r"operation.sync: unknown field\(s\) prunee"):
        Application.from_dict({**app(), "operation": {"sync": {"prunee": True}}})
    with pytest.raises(SpecError, match=r"operation.sync.resources\[0\].name: required"):
        Application.from_dict({**app(), "operation": {"sync": {"resources": [{"kind": "Service"}]}}})
