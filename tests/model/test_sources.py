from __future__ import annotations

import pytest

from gitward.model import ApplicationSource, SourceType, SpecError, sources_from_spec


def source(**fields: object) -> ApplicationSource:
    return ApplicationSource.from_dict({"repoURL": "https://e.com/r.git", **fields})


def test_explicit_type_is_the_one_block_named_or_the_chart() -> None:
    assert source().explicit_type() is None
    assert source(helm={}).explicit_type() is SourceType.helm
    assert source(kustomize={"namePrefix": "p-"}).explicit_type() is SourceType.kustomize
    assert source(directory={"recurse": True}).explicit_type() is SourceType.directory
    assert source(chart="nginx").explicit_type() is SourceType.helm
    with pytest.raises(SpecError, match="more than one of helm, kustomize and directory is set"):
        source(helm={}, directory={}).explicit_type()


def test_ref_names_and_ref_only_sources() -> None:
    assert source(ref="values").ref_only
    assert not source(ref="values", path="deploy").ref_only
    assert not source(path="deploy").ref_only
    with pytest.raises(SpecError, match=r"source\.ref: 'a/b' must be letters"):
        source(ref="a/b")
    with pytest.raises(SpecError, match="must be letters"):
        source(ref="$values")


def test_sources_from_an_application_spec() -> None:
    one = sources_from_spec({"source": {"repoURL": "https://git.example/u", "path": "p"}})
    assert [s.path for s in one] == ["p"]
    two = sources_from_spec(
        {
            "sources": [
                {"repoURL": "https://git.example/u", "path": "p"},
                {"repoURL": "https://git.example/v", "ref": "values"},
            ]
        }
    )
    assert [s.ref for s in two] == ["", "values"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {
                "source": {"repoURL": "https://git.example/u"},
                "sources": [{"repoURL": "https://git.example/u"}],
            },
            "spec: set either source or sources",
        ),
        ({}, "spec: source or sources is required"),
        ({"sources": []}, "spec.sources: at least one source is required"),
        ({"sources": [{"path": "x"}]}, r"spec.sources\[0\].repoURL: required"),
        (
            {
                "sources": [
                    {"repoURL": "https://git.example/u", "ref": "v"},
                    {"repoURL": "https://git.example/w", "ref": "v"},
                ]
            },
            r"spec.sources\[1\].ref: 'v' is already used by sources\[0\]",
        ),
    ],
)
def test_wrong_application_specs_are_refused(spec: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        sources_from_spec(spec)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"target": {"kind": "Deployment"}}, "give exactly one of path and patch"),
        ({"path": "a.yaml", "patch": "x"}, "give exactly one of path and patch"),
        ({"path": "a.yaml", "tagret": {}}, "unknown field"),
        ({"patch": "x", "target": {"knd": "Deployment"}}, r"patches\[0\].target: unknown field"),
        ({"patch": "x", "options": {"allowNameChange": "yes"}}, "expected true or false"),
        ({"path": 3}, "expected a string"),
    ],
)
def test_kustomize_patches_have_argo_cds_shape(patch: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        source(kustomize={"patches": [patch]})


def test_a_valid_patch_is_kept_as_written() -> None:
    patch = {
        "patch": "- op: add",
        "target": {"kind": "Deployment", "name": "web"},
        "options": {"allowKindChange": True},
    }
    parsed = source(kustomize={"patches": [patch]})
    assert parsed.kustomize is not None and parsed.kustomize.patches == (patch,)
