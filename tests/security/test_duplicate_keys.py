"""Finding 10: a mapping that names a key twice was accepted, and the last one won.

A reviewer reading `replicas: 1` near the top of a file approved it, and the
`replicas: 50` further down is what was applied. Kubernetes' strict decoding
and Argo CD refuse such YAML ("mapping key already defined"); so does gitward
now, at the second key's file:line:col, in manifests (YAML and JSON), in the
files read from Git beside them (Chart.yaml, values files, kustomization.yaml),
and in what helm and kustomize print. Keys brought in by a `<<` merge may
still be overridden: that is what a merge is for.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitward.controller.run import Controller
from gitward.model import ApplicationSource
from gitward.render import AppContext, Limits, Renderer, RenderSettings, SourceTree, Tools, render_directory
from gitward.render.documents import read_documents
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.validate import objects_from_output
from tests.e2e.support import CONFIG, app_status, condition, live, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.security.tenant import synced_tenant
from tests.source.servers import Upstream

SHA = "c" * 40
APP = AppContext("shop", "dest-ns")

TWICE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  replicas: 50
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
"""


def refused(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as failure:
        render_directory(root)
    return [str(p) for p in failure.value.problems]


def test_a_yaml_manifest_naming_a_key_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(TWICE)
    assert refused(tmp_path) == ["web.yaml:9:3: duplicate key 'replicas' (first at line 6, column 3)"]


def test_a_json_manifest_naming_a_key_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap",\n'
        ' "metadata": {"name": "x"},\n'
        ' "data": {"mode": "safe", "items": [{"mode": 1}],\n'
        '          "mode": "open"}}\n'
    )
    assert refused(tmp_path) == ["web.json:4:11: duplicate key 'mode' (first at line 3, column 11)"]
    # An escape spells the same key.
    _, problems = read_documents('{"a": 1, "\\u0061": 2}', "f.json", json_only=True)
    assert [str(p) for p in problems] == ["f.json:1:10: duplicate key 'a' (first at line 1, column 2)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Flow mappings, nested mappings, and keys that only JSON makes equal.
        ("{a: 1, b: 2, a: 3}\n", "f.yaml:1:14: duplicate key 'a' (first at line 1, column 2)"),
        ("x:\n  y:\n    z: 1\n    z: 2\n", "f.yaml:4:5: duplicate key 'z' (first at line 3, column 5)"),
        ("1: one\n'1': uno\n", "f.yaml:2:1: duplicate key '1' (first at line 1, column 1)"),
        ("true: yes\n'true': no\n", "f.yaml:2:1: duplicate key 'true' (first at line 1, column 1)"),
        # A merge does not excuse keys written twice in the mapping itself.
        (
            "b: &b {x: 1}\nc:\n  <<: *b\n  y: 1\n  y: 2\n",
            "f.yaml:5:3: duplicate key 'y' (first at line 4, column 3)",
        ),
    ],
)
def test_every_kind_of_repeated_key_is_refused(text: str, expected: str) -> None:
    assert [str(p) for p in read_documents(text, "f.yaml")[1]] == [expected]


def test_keys_from_a_merge_may_be_overridden() -> None:
    text = "base: &base {x: 1, y: 2}\nmore: &more {y: 3, z: 4}\nc:\n  <<: [*base, *more]\n  x: 9\n"
    documents, problems = read_documents(text, "f.yaml")
    assert problems == []
    assert documents[0].value == {
        "base": {"x": 1, "y": 2},
        "more": {"y": 3, "z": 4},
        "c": {"x": 9, "y": 2, "z": 4},
    }


def _render(root: Path, source: dict[str, object]) -> tuple[list[str], int]:
    # No binaries at all: whatever is refused here is refused before helm or kustomize would run.
    renderer = Renderer(Tools(), RenderSettings(scratch_dir=root.parent))
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(
            ApplicationSource.from_dict({"repoURL": "https://git.example/r.git", **source}),
            SourceTree(root, SHA),
            APP,
        )
    return [str(p) for p in failure.value.problems], renderer.runner.total


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_chart_yaml_and_values_files_naming_a_key_twice_are_refused_before_helm_runs(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "repo",
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\nversion: 9.9.9\n",
            "chart/templates/cm.yaml": "kind: ConfigMap\n",
        },
    )
    problems, runs = _render(root, {"path": "chart"})
    assert problems == ["chart/Chart.yaml:4:1: duplicate key 'version' (first at line 3, column 1)"]
    (root / "chart/Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.0.0\n")
    (root / "chart/values-prod.yaml").write_text("image:\n  tag: v1\n  tag: latest\n")
    problems, runs = _render(root, {"path": "chart", "helm": {"valueFiles": ["values-prod.yaml"]}})
    assert problems == ["chart/values-prod.yaml:3:3: duplicate key 'tag' (first at line 2, column 3)"]
    assert runs == 0


def test_a_kustomization_naming_a_key_twice_is_refused_before_kustomize_runs(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "repo",
        {
            "app/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: a-\nnamePrefix: b-\n",
            "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        },
    )
    problems, runs = _render(root, {"path": "app"})
    assert problems == ["app/kustomization.yaml:3:1: duplicate key 'namePrefix' (first at line 2, column 1)"]
    assert runs == 0


def test_a_renderers_output_naming_a_key_twice_is_refused_like_a_file() -> None:
    # What Argo CD and Flux refuse from a chart whose template prints a label twice.
    output = "---\n# Source: web/templates/cm.yaml\n" + TWICE
    problems: list[Problem] = []
    placed = objects_from_output(
        output, "helm template", lambda _i, _line: "chart/templates/cm.yaml", Limits(), problems
    )
    assert placed == []
    assert [str(p) for p in problems] == [
        "chart/templates/cm.yaml: document 1 of the helm template output: "
        "duplicate key 'replicas' (first at line 8, column 3)"  # lines of the output, two above the file's
    ]


# End to end --------------------------------------------------------------------------------------


@pytest.mark.cluster
async def test_a_key_written_twice_in_git_is_refused_and_nothing_of_that_revision_is_applied(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
) -> None:
    tenant = await synced_tenant(cluster, namespace, repo)

    # The reviewer sees `colour: green`; `colour: red` is what "last one wins" would apply.
    twice = CONFIG.format(colour="green") + "  colour: red\n"
    tenant.upstream.commit({"deploy/config.yaml": twice, "deploy/web.yaml": TWICE})

    def refused() -> dict[str, object] | None:
        found = condition(app_status(cluster, namespace, tenant.name), "ComparisonError")
        return found if found and "deploy/config.yaml:7:3" in str(found.get("message")) else None

    found = await until(refused, what="a ComparisonError naming deploy/config.yaml:7:3")
    message = str(found["message"])
    # Each line reads `<file:line:col>: sources[0]: <problem>`.
    for where, key in (("deploy/config.yaml:7:3", "colour"), ("deploy/web.yaml:9:3", "replicas")):
        line = re.escape(where) + f": .*duplicate key '{key}' " + re.escape("(first at line 6, column 3)")
        assert re.search(line, message), message
    await bystander.heals()

    status = app_status(cluster, namespace, tenant.name)
    assert status["sync"]["revision"] == tenant.good
    assert (live(cluster, "configmap", "settings", tenant.target) or {})["data"]["colour"] == "blue"
    assert live(cluster, "deployment", "web", tenant.target) is None
