from __future__ import annotations

import pytest

from gitward.model import ApplicationSource, DirectorySource, ResourceKey, SpecError


def test_argo_cd_field_names_are_read() -> None:
    source = ApplicationSource.from_dict(
        {
            "repoURL": "https://example.com/org/repo.git",
            "path": "deploy",
            "targetRevision": "v1.2.3",
            "directory": {"recurse": True, "include": "{a,b}.yaml", "exclude": "c.yaml"},
            "helm": {
                "valueFiles": ["values.yaml"],
                "parameters": [{"name": "image.tag", "value": "1", "forceString": True}],
                "valuesObject": {"replicas": 2},
                "skipCrds": True,
            },
            "kustomize": {
                "namePrefix": "p-",
                "replicas": [{"name": "web", "count": "3"}],
                "commonLabels": {"a": "b"},
            },
        }
    )
    assert source.target_revision == "v1.2.3"
    assert source.directory == DirectorySource(recurse=True, include="{a,b}.yaml", exclude="c.yaml")
    assert source.helm is not None and source.helm.parameters[0].force_string is True
    assert source.helm.values_object == {"replicas": 2}
    assert source.kustomize is not None and source.kustomize.replicas[0].count == 3
    assert ApplicationSource.from_dict(source.to_dict()) == source


def test_target_revision_defaults_to_head() -> None:
    assert ApplicationSource.from_dict({"repoURL": "git://h/r"}).target_revision == "HEAD"
    # Written even at its default, as Argo CD writes it; a null is an absent field.
    assert ApplicationSource.from_dict({"repoURL": "git://h/r", "path": None}).to_dict() == {
        "repoURL": "git://h/r",
        "targetRevision": "HEAD",
    }
    assert (
        ApplicationSource.from_dict({"repoURL": "git://h/r", "targetRevision": ""}).target_revision == "HEAD"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"repoURL": 3}, "source.repoURL: expected a string, got a number"),
        ({"path": "x"}, "source.repoURL: required"),
        (
            {"repoURL": "https://git.example/u", "directory": {"recurse": "yes"}},
            "source.directory.recurse: expected true or false, got a string",
        ),
        (
            {"repoURL": "https://git.example/u", "helm": {"valueFiles": "v.yaml"}},
            "source.helm.valueFiles: expected a list, got a string",
        ),
        (
            {"repoURL": "https://git.example/u", "helm": {"parameters": [{"value": "1"}]}},
            "source.helm.parameters[0].name: required",
        ),
        (
            {"repoURL": "https://git.example/u", "kustomize": {"commonLabels": {"a": 1}}},
            "source.kustomize.commonLabels.a: expected a string",
        ),
        (
            {"repoURL": "https://git.example/u", "kustomize": {"replicas": [{"name": "w", "count": "x"}]}},
            "count: expected a whole number",
        ),
        (
            {"repoURL": "https://git.example/u", "kustomize": {"replicas": [{"count": 2}]}},
            "source.kustomize.replicas[0].name: required",
        ),
        (
            {"repoURL": "https://git.example/u", "kustomize": {"patches": [{"patch": "x", "path": "p"}]}},
            "source.kustomize.patches[0]: give exactly one of path and patch",
        ),
        ({"repoURL": "https://git.example/u", "targetRevison": "main"}, "unknown field(s) targetRevison"),
        ("not an object", "source: expected an object, got a string"),
    ],
)
def test_wrong_shapes_are_refused_with_the_field_named(spec: object, message: str) -> None:
    with pytest.raises(SpecError) as failure:
        ApplicationSource.from_dict(spec)
    assert message in str(failure.value)


def test_equal_specs_share_a_fingerprint_whatever_defaults_were_spelled() -> None:
    a = ApplicationSource.from_dict({"repoURL": "https://git.example/u", "directory": {"recurse": False}})
    b = ApplicationSource.from_dict(
        {"repoURL": "https://git.example/u", "targetRevision": "HEAD", "directory": {}}
    )
    c = ApplicationSource.from_dict({"repoURL": "https://git.example/u", "directory": {"recurse": True}})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert len({a, b, c}) == 2


def test_resource_key_of_a_manifest() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"}}
    assert ResourceKey.of(obj) == ResourceKey("apps", "Deployment", "prod", "web")
    assert str(ResourceKey.of(obj)) == "apps/Deployment prod/web"
    assert ResourceKey.of({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}).group == ""
