"""The CRDs are generated from the model, and the committed deploy/ files are the generator's output."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from gitward.install import app_project_crd, application_crd, crds
from gitward.install.files import deploy_files
from gitward.model.codec import Record
from gitward.model.fields import SpecError
from gitward.model.source import ApplicationSource, DirectorySource, HelmSource, KustomizeSource

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_committed_deploy_files_are_the_generators_output() -> None:
    expected = deploy_files()
    for relative, content in expected.items():
        path = DEPLOY / relative
        assert path.is_file(), f"deploy/{relative} is missing; run: python -m gitward.install.files deploy"
        assert path.read_text(encoding="utf-8") == content, (
            f"deploy/{relative} differs from the model; run: python -m gitward.install.files deploy"
        )
    committed = {str(p.relative_to(DEPLOY)) for p in DEPLOY.rglob("*.yaml")}
    assert committed == set(expected), "deploy/ holds YAML the generator no longer writes"


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version  # type: ignore[no-any-return]


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    return _version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]  # type: ignore[no-any-return]


def test_the_application_crd_has_argo_cds_names_columns_and_status_subresource() -> None:
    crd = application_crd()
    assert crd["metadata"]["name"] == "applications.gitward.dev"
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == (
        "Application",
        "applications",
        ["app", "apps"],
    )
    version = _version(crd)
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    columns = {c["name"].upper(): c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns == {
        "SYNC": ".status.sync.status",
        "HEALTH": ".status.health.status",
        "REVISION": ".status.sync.revision",
        "AGE": ".metadata.creationTimestamp",
    }
    root = version["schema"]["openAPIV3Schema"]
    assert set(root["properties"]) == {"apiVersion", "kind", "metadata", "spec", "operation", "status"}
    assert root["required"] == ["spec"]
    assert app_project_crd()["spec"]["names"]["shortNames"] == ["appproj", "appprojs"]


def test_spec_is_strict_and_status_is_open() -> None:
    root = _version(application_crd())["schema"]["openAPIV3Schema"]["properties"]
    spec = root["spec"]
    assert "x-kubernetes-preserve-unknown-fields" not in spec
    automated = spec["properties"]["syncPolicy"]["properties"]["automated"]
    assert automated["properties"]["prune"] == {"type": "boolean"}
    assert root["status"]["x-kubernetes-preserve-unknown-fields"] is True
    assert root["status"]["properties"]["sync"]["properties"]["status"]["enum"] == [
        "Synced",
        "OutOfSync",
        "Unknown",
    ]
    assert "x-kubernetes-preserve-unknown-fields" not in root["operation"]
    # Free-form Helm values stay free-form.
    helm = spec["properties"]["source"]["properties"]["helm"]["properties"]
    assert helm["valuesObject"]["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        (("source",), ApplicationSource),
        (("source", "directory"), DirectorySource),
        (("source", "helm"), HelmSource),
        (("source", "kustomize"), KustomizeSource),
    ],
)
def test_source_schemas_list_exactly_the_keys_model_source_reads(
    path: tuple[str, ...], cls: type[Record]
) -> None:
    schema = _spec_schema(application_crd())
    for step in path:
        schema = schema["properties"][step]
    # The model's refusal of an unknown key lists the keys it reads.
    with pytest.raises(SpecError, match="unknown field") as refused:
        cls.from_dict({"notAField": 1}, "x")
    read = ast.literal_eval(str(refused.value).split("expected some of ", 1)[1])
    assert set(schema["properties"]) == set(read)


def test_compat_mode_serves_the_same_schema_under_argo_cds_group() -> None:
    by_name = {c["metadata"]["name"]: c for c in crds(compat_argocd=True)}
    assert set(by_name) == {
        "applications.gitward.dev",
        "appprojects.gitward.dev",
        "applications.argoproj.io",
        "appprojects.argoproj.io",
    }
    for plural in ("applications", "appprojects"):
        mine, argo = by_name[f"{plural}.gitward.dev"], by_name[f"{plural}.argoproj.io"]
        assert argo["spec"]["group"] == "argoproj.io"
        assert argo["spec"]["versions"] == mine["spec"]["versions"]
        assert argo["spec"]["names"] == mine["spec"]["names"]
    assert [c["metadata"]["name"] for c in crds()] == ["applications.gitward.dev", "appprojects.gitward.dev"]
