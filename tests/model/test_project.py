"""AppProjects and durations: Argo CD's field names, round trips, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model import SpecError
from gitward.model.duration import Duration
from gitward.model.project import AppProject, WindowKind

PROJECT: dict[str, Any] = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "team-a", "namespace": "gitward"},
    "spec": {
        "description": "Team A",
        "sourceRepos": ["https://example.com/team-a/*", "!https://example.com/team-a/secret"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-a-*"}],
        "clusterResourceWhitelist": [{"kind": "Namespace"}],
        "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "*"}],
        "namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}],
        "namespaceResourceBlacklist": [{"kind": "ResourceQuota"}],
        "roles": [
            {
                "name": "ci",
                "policies": ["p, proj:team-a:ci, applications, sync, team-a/*, allow"],
                "groups": ["team-a-ci"],
                "jwtTokens": [{"iat": 1700000000, "id": "t1"}],
            }
        ],
        "syncWindows": [
            {
                "kind": "deny",
                "schedule": "0 22 * * *",
                "duration": "8h",
                "applications": ["*"],
                "manualSync": True,
                "timeZone": "Europe/Paris",
            },
            {"kind": "allow", "schedule": "@daily", "duration": "30m", "clusters": ["prod"]},
        ],
        "orphanedResources": {"warn": True, "ignore": [{"kind": "ConfigMap", "name": "kube-root-ca.crt"}]},
        "signatureKeys": [{"keyID": "4AEE18F83AFDEB23"}],
    },
    "status": {"jwtTokensByRole": {"ci": {"items": [{"iat": 1700000000}]}}},
}


def test_every_field_is_read_and_written_back_unchanged() -> None:
    project = AppProject.from_dict(PROJECT)
    assert project.to_dict() == PROJECT
    assert project.name == "team-a"
    window = project.spec.sync_windows[0]
    assert window.kind is WindowKind.deny and window.duration.seconds == 8 * 3600 and window.manual_sync
    assert project.spec.namespace_resource_blacklist[0].group == ""
    assert project.spec.signature_keys[0].key_id == "4AEE18F83AFDEB23"


def test_an_empty_project_reads_and_writes_as_empty() -> None:
    project = AppProject.from_dict({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject"})
    assert project.spec.source_repos == () and project.spec.destinations == ()
    assert project.to_dict() == {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject"}


def _with_window(window: dict[str, Any]) -> dict[str, Any]:
    return {**PROJECT, "spec": {"syncWindows": [window]}}


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"kind": "maybe", "schedule": "* * * * *", "duration": "1h"}, "expected one of allow, deny"),
        ({"kind": "allow", "schedule": "* * *", "duration": "1h"}, "syncWindows[0].schedule: '* * *'"),
        ({"kind": "allow", "schedule": "* * * * *", "duration": "1 hour"}, "syncWindows[0].duration:"),
        ({"kind": "allow", "schedule": "* * * * *"}, "spec.syncWindows[0].duration: required"),
        ({"kind": "allow", "schedule": "* * * * *", "duration": "1h", "manualSync": "true"}, "manualSync"),
    ],
)
def test_a_wrong_sync_window_is_refused_naming_the_field(window: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        AppProject.from_dict(_with_window(window))
    assert message in str(caught.value)


def test_a_sync_window_that_selects_nothing_is_refused() -> None:
    with pytest.raises(SpecError, match=r"syncWindows\[0\]: a sync window needs applications, namespaces"):
        AppProject.from_dict(_with_window({"kind": "deny", "schedule": "* * * * *", "duration": "1h"}))


def test_other_project_errors_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"spec.clusterResourceWhitelist\[0\].kind: required"):
        AppProject.from_dict({**PROJECT, "spec": {"clusterResourceWhitelist": [{"group": "apps"}]}})
    with pytest.raises(SpecError, match=r"spec.sourceRepos: expected a list, got a string"):
        AppProject.from_dict({**PROJECT, "spec": {"sourceRepos": "https://example.com/*"}})
    with pytest.raises(SpecError, match=r"spec: unknown field\(s\) sourceRepo;"):
        AppProject.from_dict({**PROJECT, "spec": {"sourceRepo": ["*"]}})
    with pytest.raises(SpecError, match="kind: expected AppProject"):
        AppProject.from_dict({**PROJECT, "kind": "Application"})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5s", 5), ("3m", 180), ("1h30m", 5400), ("500ms", 0.5), ("1.5h", 5400), ("10", 10), ("2m30s", 150)],
)
def test_durations_are_read_as_go_writes_them(text: str, seconds: float) -> None:
    duration = Duration.parse(text)
    assert duration.seconds == pytest.approx(seconds)
    assert str(duration) == text


@pytest.mark.parametrize("text", ["", "5 s", "-5s", "5d", "s", "1h-5m", "5S"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(SpecError, match=f"backoff.duration: {text!r} is not a duration"):
        Duration.parse(text, "backoff.duration")
