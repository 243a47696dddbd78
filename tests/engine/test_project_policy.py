"""AppProject rules as Argo CD applies them: repositories, destinations, kinds (plain data, no cluster)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.project_policy import (
    allow_all,
    check_application,
    check_objects,
    destination_permitted,
    glob_match,
    kind_refusal,
    source_permitted,
)
from gitward.model.application import Application
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey

IN_CLUSTER = "https://kubernetes.default.svc"


def project(**spec: Any) -> AppProject:
    return AppProject.from_dict(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team"},
            "spec": spec,
        }
    )


def app(repo: str = "https://git.example/team/shop.git", namespace: str = "shop", **dest: str) -> Application:
    return Application.from_dict(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "shop", "namespace": "gitward"},
            "spec": {
                "project": "team",
                "source": {"repoURL": repo, "path": "deploy"},
                "destination": {**(dest or {"server": IN_CLUSTER}), "namespace": namespace},
            },
        }
    )


@pytest.mark.parametrize(
    ("patterns", "url", "allowed"),
    [
        (["*"], "https://anything.example/x/y.git", True),
        ([], "https://git.example/team/shop", False),
        (["https://git.example/team/*"], "https://git.example/team/shop.git", True),
        # `*` stays inside one path segment; `**` crosses them.
        (["https://git.example/team/*"], "https://git.example/team/sub/shop", False),
        (["https://git.example/team/**"], "https://git.example/team/sub/shop", True),
        # Spelling does not matter: case, `.git`, a trailing slash.
        (["https://GIT.example/Team/Shop"], "https://git.example/team/shop.git/", True),
        # A deny wins, wherever it stands in the list.
        (
            ["!https://git.example/team/secret", "https://git.example/team/*"],
            "https://git.example/team/secret",
            False,
        ),
        (
            ["https://git.example/team/*", "!https://git.example/team/secret.git"],
            "https://git.example/team/secret",
            False,
        ),
        (
            ["https://git.example/team/*", "!https://git.example/team/secret"],
            "https://git.example/team/shop",
            True,
        ),
        # As in Argo CD, a deny entry matches whatever it does not deny: alone, it allows the rest.
        (["!https://git.example/team/secret"], "https://git.example/team/shop", True),
        (["!https://git.example/team/secret"], "https://git.example/team/secret", False),
        (["https://git.example/{team,ops}/*"], "https://git.example/ops/infra", True),
    ],
)
def test_source_repos(patterns: list[str], url: str, allowed: bool) -> None:
    assert source_permitted(project(sourceRepos=patterns), url) is allowed


@pytest.mark.parametrize(
    ("destinations", "dest", "namespace", "allowed"),
    [
        ([{"server": "*", "namespace": "*"}], {"server": IN_CLUSTER}, "anything", True),
        ([], {"server": IN_CLUSTER}, "shop", False),
        ([{"server": IN_CLUSTER, "namespace": "team-*"}], {"server": IN_CLUSTER}, "team-a", True),
        ([{"server": IN_CLUSTER, "namespace": "team-*"}], {"server": IN_CLUSTER}, "shop", False),
        # Server OR name: the in-cluster destination is known by both.
        ([{"name": "in-cluster", "namespace": "*"}], {"server": IN_CLUSTER}, "shop", True),
        ([{"server": IN_CLUSTER, "namespace": "*"}], {"name": "in-cluster"}, "shop", True),
        ([{"server": "https://prod.example", "namespace": "*"}], {"server": IN_CLUSTER}, "shop", False),
        # `!` on a namespace denies it, and the deny wins over a wider allow.
        (
            [{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-system"}],
            {"server": IN_CLUSTER},
            "kube-system",
            False,
        ),
        (
            [{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-system"}],
            {"server": IN_CLUSTER},
            "shop",
            True,
        ),
        ([{"server": "!https://prod.example", "namespace": "*"}], {"server": IN_CLUSTER}, "shop", True),
        ([{"server": "!" + IN_CLUSTER, "namespace": "*"}], {"server": IN_CLUSTER}, "shop", False),
    ],
)
def test_destinations(
    destinations: list[dict[str, str]], dest: dict[str, str], namespace: str, allowed: bool
) -> None:
    server, name = dest.get("server", ""), dest.get("name", "")
    assert destination_permitted(project(destinations=destinations), server, name, namespace) is allowed


def test_an_app_is_told_each_thing_its_project_refuses() -> None:
    strict = project(
        sourceRepos=["https://git.example/ops/*"], destinations=[{"server": "*", "namespace": "ops"}]
    )
    problems = check_application(strict, app())
    assert problems == [
        "application repo https://git.example/team/shop.git is not permitted in project 'team'",
        f"application destination {{{IN_CLUSTER} shop}} is not permitted in project 'team'",
    ]
    assert check_application(allow_all(), app()) == []


@pytest.mark.parametrize(
    ("spec", "group", "kind", "namespaced", "refused"),
    [
        # Namespaced kinds: allowed by default; a whitelist narrows, a blacklist removes.
        ({}, "apps", "Deployment", True, None),
        ({"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}]}, "apps", "Deployment", True, None),
        ({"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}]}, "", "ConfigMap", True, "not in"),
        ({"namespaceResourceBlacklist": [{"kind": "ResourceQuota"}]}, "", "ResourceQuota", True, "Blacklist"),
        # Group "" is the core group only; "*" is any group.
        ({"namespaceResourceBlacklist": [{"kind": "ConfigMap"}]}, "example.com", "ConfigMap", True, None),
        (
            {"namespaceResourceBlacklist": [{"group": "*", "kind": "ConfigMap"}]},
            "x.io",
            "ConfigMap",
            True,
            "Black",
        ),
        # Cluster-scoped kinds: none unless whitelisted, and a blacklist still wins.
        ({}, "rbac.authorization.k8s.io", "ClusterRole", False, "clusterResourceWhitelist is empty"),
        (
            {"clusterResourceWhitelist": [{"kind": "Namespace"}]},
            "rbac.authorization.k8s.io",
            "ClusterRole",
            False,
            "not in",
        ),
        ({"clusterResourceWhitelist": [{"kind": "Namespace"}]}, "", "Namespace", False, None),
        (
            {
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "Cluster*"}],
            },
            "rbac.authorization.k8s.io",
            "ClusterRole",
            False,
            "clusterResourceBlacklist entry {group: rbac.authorization.k8s.io, kind: Cluster*}",
        ),
    ],
)
def test_kinds(spec: dict[str, Any], group: str, kind: str, namespaced: bool, refused: str | None) -> None:
    why = kind_refusal(project(**spec), group, kind, namespaced)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why


def test_each_refused_object_is_named_with_its_rule() -> None:
    narrow = project(sourceRepos=["*"], destinations=[{"server": "*", "namespace": "shop"}])
    placed = [
        (ResourceKey("", "ConfigMap", "shop", "settings"), True),
        (ResourceKey("rbac.authorization.k8s.io", "ClusterRole", "", "admin"), False),
        (ResourceKey("", "ConfigMap", "kube-system", "sneaky"), True),
    ]
    problems = check_objects(narrow, app(), placed)
    assert problems == [
        "rbac.authorization.k8s.io/ClusterRole admin: rbac.authorization.k8s.io/ClusterRole is not permitted"
        " in project 'team' (cluster-scoped, and clusterResourceWhitelist is empty)",
        "ConfigMap kube-system/sneaky: ConfigMap is not permitted in project 'team'"
        " (its namespace is not a destination of the project)",
    ]
    assert check_objects(allow_all(), app(), placed) == []


segment = st.text(alphabet="abcxyz-", min_size=1, max_size=6)


@given(st.lists(segment, min_size=1, max_size=4), st.lists(segment, max_size=3))
def test_a_deny_entry_wins_over_any_allow(path: list[str], others: list[str]) -> None:
    url = "https://git.example/" + "/".join(path)
    patterns = ["*", "https://git.example/**", *(f"https://git.example/{o}" for o in others)]
    assert source_permitted(project(sourceRepos=patterns), url)
    for at in range(len(patterns) + 1):
        denied = [*patterns[:at], "!" + url, *patterns[at:]]
        assert not source_permitted(project(sourceRepos=denied), url)


@given(st.text(alphabet="ab/.-", max_size=12))
def test_a_star_matches_anything_and_a_literal_only_itself(value: str) -> None:
    assert glob_match("*", value)
    assert glob_match(value.replace("*", ""), value.replace("*", ""))
    assert glob_match("**", value, "/")
    assert glob_match("*", value, "/")  # Argo CD's shortcut: a lone `*` is everything, even with `/`
    assert glob_match("*x", value + "x", "/") is ("/" not in value)
