"""Sync options as users write them: app-wide `syncOptions` and the per-resource annotation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.options import effective, of_resource, parse
from gitward.model.sync import EffectiveOptions, PropagationPolicy, SyncOptions, SyncSpecError


def resource(**annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "web", "annotations": annotations},
    }


OURS = "gitward.dev/sync-options"
ARGO = "argocd.argoproj.io/sync-options"


def test_defaults_use_server_side_apply_and_foreground_pruning() -> None:
    options = effective(SyncOptions())
    assert options.server_side_apply is True
    assert options.prune_propagation_policy is PropagationPolicy.foreground
    assert (options.prune, options.delete, options.validate) == (True, True, True)
    assert (options.replace, options.force, options.prune_last, options.create_namespace) == (
        False,
        False,
        False,
        False,
    )


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("CreateNamespace=true", "create_namespace", True),
        ("ServerSideApply=false", "server_side_apply", False),
        ("Replace=true", "replace", True),
        ("Force=true", "force", True),
        ("ApplyOutOfSyncOnly=true", "apply_out_of_sync_only", True),
        ("Validate=false", "validate", False),
        ("PruneLast=true", "prune_last", True),
        ("PrunePropagationPolicy=background", "prune_propagation_policy", PropagationPolicy.background),
        ("PrunePropagationPolicy=orphan", "prune_propagation_policy", PropagationPolicy.orphan),
        ("PrunePropagationPolicy=foreground", "prune_propagation_policy", PropagationPolicy.foreground),
        ("Prune=false", "prune", False),
        ("Delete=false", "delete", False),
        ("FailOnSharedResource=true", "fail_on_shared_resource", True),
        ("RespectIgnoreDifferences=true", "respect_ignore_differences", True),
    ],
)
def test_every_documented_option_changes_its_setting(text: str, field: str, value: object) -> None:
    assert getattr(effective(parse([text])), field) == value


def test_values_are_read_without_regard_to_case_or_surrounding_spaces() -> None:
    options = effective(parse(["  PruneLast = TRUE ", "PrunePropagationPolicy=Orphan"]))
    assert options.prune_last is True
    assert options.prune_propagation_policy is PropagationPolicy.orphan


def test_unknown_option_is_an_error_naming_it() -> None:
    with pytest.raises(SyncSpecError, match="unknown sync option 'SkipDryRun'"):
        parse(["PruneLast=true", "SkipDryRun=true"])


def test_a_miscapitalised_option_suggests_the_right_spelling() -> None:
    with pytest.raises(SyncSpecError, match="did you mean PruneLast"):
        parse(["prunelast=true"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PruneLast", "needs a value"),
        ("PruneLast=", "needs a value"),
        ("PruneLast=yes", "PruneLast=yes must be true or false"),
        ("PrunePropagationPolicy=cascade", "not one of foreground, background, orphan"),
    ],
)
def test_malformed_option_is_an_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(SyncSpecError, match=message):
        parse([text])


def test_the_same_option_twice_with_different_values_is_an_error() -> None:
    with pytest.raises(SyncSpecError, match="Prune is given twice"):
        parse(["Prune=false", "Prune=true"])
    assert effective(parse(["Prune=false", "Prune=false"])).prune is False


def test_errors_say_where_the_option_was_written() -> None:
    with pytest.raises(SyncSpecError, match=r"ConfigMap web/settings: annotation gitward.dev/sync-options"):
        of_resource(resource(**{OURS: "Bogus=true"}))


def test_resource_annotation_wins_over_app_wide_option() -> None:
    app = parse(["Validate=false", "PruneLast=true", "PrunePropagationPolicy=background"])
    obj = resource(**{OURS: "Validate=true, PrunePropagationPolicy=orphan"})
    options = effective(app, obj)
    assert options.validate is True
    assert options.prune_propagation_policy is PropagationPolicy.orphan
    assert options.prune_last is True  # not said on the resource: the app's value stands


def test_argo_cd_annotation_is_read_and_ours_wins_option_by_option() -> None:
    obj = resource(**{ARGO: "Prune=false,Replace=true", OURS: "Replace=false"})
    options = effective(SyncOptions(), obj)
    assert options.prune is False
    assert options.replace is False


def test_an_app_wide_option_on_one_resource_is_refused() -> None:
    with pytest.raises(SyncSpecError, match="CreateNamespace applies to the whole app"):
        of_resource(resource(**{ARGO: "CreateNamespace=true"}))


def test_a_trailing_comma_in_the_annotation_is_harmless() -> None:
    assert effective(SyncOptions(), resource(**{OURS: "Prune=false,"})).prune is False


def test_a_non_string_annotation_is_an_error() -> None:
    obj = resource()
    obj["metadata"]["annotations"][OURS] = ["Prune=false"]
    with pytest.raises(SyncSpecError, match="must be a string"):
        of_resource(obj)


BOOLEAN_OPTIONS = {
    "ServerSideApply": "server_side_apply",
    "Replace": "replace",
    "Force": "force",
    "Validate": "validate",
    "PruneLast": "prune_last",
    "Prune": "prune",
    "Delete": "delete",
}


@given(
    app=st.dictionaries(st.sampled_from(sorted(BOOLEAN_OPTIONS)), st.booleans()),
    own=st.dictionaries(st.sampled_from(sorted(BOOLEAN_OPTIONS)), st.booleans()),
)
def test_each_option_takes_the_resource_value_else_the_app_value_else_the_default(
    app: dict[str, bool], own: dict[str, bool]
) -> None:
    app_options = parse([f"{k}={str(v).lower()}" for k, v in app.items()])
    obj = resource(**{OURS: ",".join(f"{k}={str(v).lower()}" for k, v in own.items())})
    result = effective(app_options, obj)
    defaults = EffectiveOptions()
    for name, field in BOOLEAN_OPTIONS.items():
        expected = own.get(name, app.get(name, getattr(defaults, field)))
        assert getattr(result, field) == expected, name
