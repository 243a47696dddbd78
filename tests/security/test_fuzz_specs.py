"""Fuzzing the Application and AppProject parsers with what a tenant may write.

Each entry point below is one the controller, the server or the CLI calls on
a raw object read from the cluster (where anyone allowed to create an
Application writes it). The property: any JSON-like value is either
accepted or refused with the model's own SpecError (a ValueError naming the
field), quickly; never a TypeError, KeyError, AttributeError, RecursionError
or any other exception that would take a worker down with a traceback
instead of an InvalidSpecError condition. An accepted spec must also
survive being written back and read again unchanged: the controller writes
what it read (status, history) and reads it on the next pass.

Three kinds of input: arbitrary JSON values; dicts whose keys are the
model's own field names (so the parsers are reached in depth); and single
mutations of complete, valid manifests (a value replaced, a key removed or
added, a node wrapped in a list).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.engine import options as sync_options
from gitward.model.application import Application, ApplicationSpec
from gitward.model.codec import EXTRA, Record, field_infos
from gitward.model.fields import SpecError
from gitward.model.operation import Operation
from gitward.model.project import AppProject
from gitward.model.source import ApplicationSource
from gitward.model.sync import SyncSpecError

# A parse of a few kilobytes takes microseconds; a second means a pathological path (a backtracking
# regex, a quadratic walk), which on a controller would stall every app.
TIME_BOUND = 1.0
FUZZ = settings(
    max_examples=120,
    deadline=None,  # the bound is asserted per parse below; the shared 2-core machine makes deadlines flaky
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Mutations of the valid manifests reach the most code (about a fifth of them are accepted): more of them.
MUTATIONS = settings(FUZZ, max_examples=400)

VALID_APP: dict[str, Any] = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "shop", "namespace": "gitward", "labels": {"team": "a"}},
    "spec": {
        "project": "team-a",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "team-a"},
        "sources": [
            {
                "repoURL": "https://git.example/team-a/shop.git",
                "path": "deploy",
                "targetRevision": "main",
                "directory": {"recurse": True, "include": "*.yaml", "exclude": "{a,b}/*.json"},
            },
            {
                "repoURL": "https://charts.example/stable",
                "chart": "web",
                "targetRevision": "1.2.3",
                "helm": {
                    "releaseName": "web",
                    "valueFiles": ["$values/values.yaml"],
                    "values": "replicas: 2\n",
                    "valuesObject": {"image": {"tag": "1"}},
                    "parameters": [{"name": "image.tag", "value": "2", "forceString": True}],
                    "namespace": "team-a",
                    "kubeVersion": "1.30.0",
                    "apiVersions": ["monitoring.coreos.com/v1"],
                    "skipCrds": True,
                },
            },
            {"repoURL": "https://git.example/team-a/values.git", "ref": "values", "targetRevision": "main"},
            {
                "repoURL": "https://git.example/team-a/kust.git",
                "path": "overlays/prod",
                "kustomize": {
                    "namePrefix": "p-",
                    "images": ["nginx=nginx:1.27"],
                    "replicas": [{"name": "web", "count": 3}],
                    "commonLabels": {"env": "prod"},
                    "namespace": "team-a",
                    "patches": [
                        {"target": {"kind": "Deployment"}, "patch": "- op: add\n  path: /x\n  value: 1"}
                    ],
                    "components": ["../components/x"],
                },
            },
        ],
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
            "syncOptions": ["CreateNamespace=true", "PruneLast=true", "ServerSideApply=true"],
            "retry": {"limit": 3, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
            "managedNamespaceMetadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}},
        },
        "ignoreDifferences": [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {"kind": "ConfigMap", "name": "x", "managedFieldsManagers": ["kube-controller-manager"]},
        ],
        "revisionHistoryLimit": 5,
    },
    "operation": {
        "sync": {"prune": True, "revision": "main", "syncOptions": ["Validate=false"]},
        "initiatedBy": {"username": "alice"},
        "retry": {"limit": 2},
    },
    "status": {
        "sync": {"status": "Synced", "revision": "abc"},
        "health": {"status": "Healthy"},
        "resources": [{"group": "apps", "kind": "Deployment", "namespace": "team-a", "name": "web"}],
        "history": [{"id": 1, "revision": "abc", "deployedAt": "2026-01-01T00:00:00Z"}],
        "conditions": [{"type": "SyncError", "message": "x"}],
    },
}

VALID_PROJECT: dict[str, Any] = {
    "apiVersion": "gitward.dev/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "team-a", "namespace": "gitward"},
    "spec": {
        "description": "team a",
        "sourceRepos": ["https://git.example/team-a/**", "!https://git.example/team-a/secret.git"],
        "destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "team-a*"},
            {"name": "in-cluster", "namespace": "!kube-*"},
        ],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "*"}],
        "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
        "roles": [{"name": "ci", "policies": ["p, proj:team-a:ci, applications, sync, team-a/*, allow"]}],
        "syncWindows": [
            {
                "kind": "deny",
                "schedule": "0 22 * * *",
                "duration": "1h30m",
                "applications": ["*"],
                "manualSync": True,
                "timeZone": "Europe/Paris",
            },
            {"kind": "allow", "schedule": "@daily", "duration": "8h", "namespaces": ["team-a"]},
        ],
        "orphanedResources": {"warn": True, "ignore": [{"kind": "ConfigMap"}]},
        "signatureKeys": [{"keyID": "ABCDEF"}],
        "healthRules": [{"group": "example.com", "kind": "Widget", "healthy": "self.status.ready"}],
    },
}


def _without_live_fields(obj: Any) -> dict[str, Any]:
    """What the controller parses: the Application minus the operation and status it reads elsewhere."""
    return (
        {k: v for k, v in obj.items() if k not in ("operation", "status")} if isinstance(obj, dict) else obj
    )


def _parse_app_spec(obj: Any) -> object:
    app = Application.from_dict(_without_live_fields(obj))
    # The controller reads the sync options the spec lists with the engine's parser.
    if app.spec.sync_policy is not None:
        sync_options.parse(app.spec.sync_policy.sync_options)
    return app


# Each parser with the errors it may refuse with (its own kind of error, nothing else).
PARSERS: dict[str, tuple[Callable[[Any], object], tuple[type[Exception], ...]]] = {
    # controller.reconcile (minus operation/status), server.desired and the CLI (the whole object).
    "application": (Application.from_dict, (SpecError,)),
    "application-spec-pass": (_parse_app_spec, (SpecError, SyncSpecError)),
    "spec": (ApplicationSpec.from_dict, (SpecError,)),
    "source": (ApplicationSource.from_dict, (SpecError,)),
    # controller.pending and controller.operation read the requested operation on its own.
    "operation": (lambda o: Operation.from_dict(o, "operation"), (SpecError,)),
    # controller.projects
    "project": (AppProject.from_dict, (SpecError,)),
}


def accepted_or_refused(name: str, value: Any) -> object | None:
    """The parsed record, or None when refused with the parser's own error; fails on anything else."""
    parse, errors = PARSERS[name]
    started = time.monotonic()
    try:
        parsed = parse(value)
    except errors as refused:
        assert str(refused), f"{name}: a refusal without a message"
        parsed = None
    except Exception as exc:  # the property under test: nothing else may escape
        pytest.fail(f"{name}: {type(exc).__name__} escaped the parser: {exc!r}\ninput: {value!r}"[:4000])
    took = time.monotonic() - started
    assert took < TIME_BOUND, f"{name}: parsing took {took:.2f}s"
    return parsed


def round_trips(parsed: object) -> None:
    """An accepted record, written back (as the controller writes status), reads back the same."""
    if isinstance(parsed, Record):
        written = parsed.to_dict()
        again = type(parsed).from_dict(written)
        assert again == parsed, f"{type(parsed).__name__} changed on a write and a read: {written!r}"


# --- strategies ----------------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "*", "!", "-", "--", "..", "/", "HEAD", "5s", "0", "-1", "@daily", "{a,", "[z-a]"])
)


def _field_names() -> list[str]:
    """Every JSON field name the model reads: random dicts keyed by them reach the parsers' depths."""
    names: set[str] = set()
    seen: set[type] = set()

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for info in field_infos(cls):
            names.add(info.json)
            for inner in _classes_in(info.hint):
                walk(inner)

    walk(Application)
    walk(AppProject)
    names.discard(EXTRA)
    return sorted(names)


def _classes_in(hint: Any) -> list[type]:
    import dataclasses
    import typing

    found: list[type] = []
    stack = [hint]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and dataclasses.is_dataclass(current):
            found.append(current)
        stack.extend(typing.get_args(current))
    return found


FIELD_NAMES = _field_names()
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=10)

JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
STRUCTURED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=40,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """`valid` with one node changed: replaced, removed, wrapped in a list, or given a new key."""
    doc = copy.deepcopy(valid)
    paths = _paths(doc)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["replace", "remove", "wrap", "add", "null"]))
        parent: Any = None
        node: Any = doc
        for step in path:
            parent, node = node, node[step]
        if not path:
            if how == "replace":
                return draw(JSON)  # a whole other value: nothing left to mutate
            continue
        last = path[-1]
        if how == "replace":
            parent[last] = draw(STRUCTURED)
        elif how == "null":
            parent[last] = None
        elif how == "wrap":
            parent[last] = [node]
        elif how == "remove" and isinstance(parent, dict):
            del parent[last]
        elif how == "add" and isinstance(node, dict):
            node[draw(KEYS)] = draw(STRUCTURED)
        paths = _paths(doc)
    return doc


# --- the properties --------------------------------------------------------------------------------


def test_the_valid_manifests_are_valid() -> None:
    """The seeds of the mutations parse: otherwise every mutation would only test a refusal."""
    for name, value in (("application", VALID_APP), ("application-spec-pass", VALID_APP)):
        assert accepted_or_refused(name, value) is not None, name
    assert accepted_or_refused("project", VALID_PROJECT) is not None


@pytest.mark.parametrize("parser", sorted(PARSERS))
@FUZZ
@given(value=JSON)
def test_any_json_value_is_accepted_or_refused_with_a_spec_error(parser: str, value: Any) -> None:
    accepted_or_refused(parser, value)


@pytest.mark.parametrize("parser", ["application", "spec", "source", "operation", "project"])
@FUZZ
@given(value=STRUCTURED)
def test_dicts_made_of_the_models_field_names_are_accepted_or_refused(parser: str, value: Any) -> None:
    round_trips(accepted_or_refused(parser, value))


@MUTATIONS
@given(value=mutated(VALID_APP))
def test_a_mutated_application_is_accepted_or_refused(value: Any) -> None:
    round_trips(accepted_or_refused("application", value))
    accepted_or_refused("application-spec-pass", value)
    spec = value.get("spec") if isinstance(value, dict) else None
    accepted_or_refused("spec", spec)
    if isinstance(value, dict) and "operation" in value:
        accepted_or_refused("operation", value["operation"])


@MUTATIONS
@given(value=mutated(VALID_PROJECT))
def test_a_mutated_project_is_accepted_or_refused(value: Any) -> None:
    round_trips(accepted_or_refused("project", value))


@pytest.mark.parametrize("parser", ["application", "project"])
def test_deep_nesting_is_refused_not_a_recursion_error(parser: str) -> None:
    """A manifest nested thousands deep (JSON allows it; the API server stores it in open fields)."""
    deep: Any = {}
    for _ in range(5000):
        deep = {"x": deep}
    seed = copy.deepcopy(VALID_APP if parser == "application" else VALID_PROJECT)
    seed["metadata"]["annotations"] = {"a": "b"}
    seed["metadata"]["labels"] = deep
    accepted_or_refused(parser, seed)
