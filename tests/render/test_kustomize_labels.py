"""Argo CD's Kustomize label and annotation switches, on the real kustomize binary:
forceCommonLabels, forceCommonAnnotations, labelWithoutSelector, labelIncludeTemplates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitward.model import ApplicationSource, SpecError
from gitward.render import AppContext, Renderer, SourceTree, ValidationFailed
from tests.render.conftest import DEPLOYMENT, by_name, fingerprint, read_only, write

SHA = "b" * 40
APP = AppContext("demo", "dest")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(
        root,
        {
            "app/kustomization.yaml": "resources:\n- deployment.yaml\n"
            "commonLabels:\n  team: blue\ncommonAnnotations:\n  owner: web-team\n",
            "app/deployment.yaml": DEPLOYMENT,
        },
    )
    return read_only(root)


def web(renderer: Renderer, repo: Path, **kustomize: object) -> dict[str, Any]:
    source = ApplicationSource.from_dict(
        {"repoURL": "https://example.com/repo.git", "path": "app", "kustomize": kustomize}
    )
    return by_name(renderer.render(source, SourceTree(repo, SHA), APP), "web")


def labels(deployment: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(metadata labels, selector, pod template labels)."""
    spec = deployment["spec"]
    return (
        deployment["metadata"]["labels"],
        spec["selector"]["matchLabels"],
        spec["template"]["metadata"]["labels"],
    )


def test_force_common_labels_and_annotations_replace_the_kustomizations_own(
    renderer: Renderer, repo: Path
) -> None:
    before = fingerprint(repo)
    with pytest.raises(ValidationFailed, match="label team already in kustomization file"):
        web(renderer, repo, commonLabels={"team": "red"})
    with pytest.raises(ValidationFailed, match="annotation owner already in kustomization file"):
        web(renderer, repo, commonAnnotations={"owner": "platform"})

    forced = web(
        renderer,
        repo,
        commonLabels={"team": "red"},
        forceCommonLabels=True,
        commonAnnotations={"owner": "platform"},
        forceCommonAnnotations=True,
    )

    meta, selector, template = labels(forced)
    assert meta == {"team": "red"}
    # Plain commonLabels also select: the selector and the pods carry the new value.
    assert selector == template == {"app": "web", "team": "red"}
    assert forced["metadata"]["annotations"] == {"owner": "platform"}
    assert fingerprint(repo) == before


def test_label_without_selector_leaves_selectors_and_pods_alone_unless_templates_are_included(
    renderer: Renderer, repo: Path
) -> None:
    meta, selector, template = labels(web(renderer, repo, commonLabels={"env": "prod"}))
    assert meta == {"team": "blue", "env": "prod"}
    assert selector == template == {"app": "web", "team": "blue", "env": "prod"}

    meta, selector, template = labels(
        web(renderer, repo, commonLabels={"env": "prod"}, labelWithoutSelector=True)
    )
    assert meta == {"team": "blue", "env": "prod"}
    assert selector == template == {"app": "web", "team": "blue"}

    meta, selector, template = labels(
        web(
            renderer,
            repo,
            commonLabels={"env": "prod"},
            labelWithoutSelector=True,
            labelIncludeTemplates=True,
        )
    )
    assert meta == {"team": "blue", "env": "prod"}
    assert selector == {"app": "web", "team": "blue"}
    assert template == {"app": "web", "team": "blue", "env": "prod"}


def test_label_include_templates_alone_is_a_spec_error() -> None:
    with pytest.raises(
        SpecError, match=r"kustomize\.labelIncludeTemplates: needs labelWithoutSelector: true"
    ):
        ApplicationSource.from_dict(
            {"repoURL": "https://git.example/u", "kustomize": {"labelIncludeTemplates": True}}
        )


def test_the_switches_change_the_render_cache_key_only_when_set() -> None:
    def spec(**kustomize: object) -> ApplicationSource:
        return ApplicationSource.from_dict(
            {"repoURL": "https://git.example/u", "kustomize": {"commonLabels": {"a": "b"}, **kustomize}}
        )

    assert spec().fingerprint() == spec(forceCommonLabels=False, labelWithoutSelector=False).fingerprint()
    assert spec().fingerprint() != spec(labelWithoutSelector=True).fingerprint()
    assert spec(forceCommonLabels=True).to_dict()["kustomize"]["forceCommonLabels"] is True
