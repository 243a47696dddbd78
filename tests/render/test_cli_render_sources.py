"""`gitward render` on Helm and Kustomize folders, Git URLs, Helm repositories and Application files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gitward.cli import app
from tests.render.conftest import cm, names, write
from tests.source.servers import Upstream, git_daemon

runner = CliRunner()

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "values.yaml": "greeting: default\ncount: 1\n",
    "values-prod.yaml": "greeting: prod\n",
    "templates/cm.yaml": cm(
        "{{ .Release.Name }}-web",
        "{{ .Release.Namespace }}",
        data="data:\n  greeting: {{ .Values.greeting | quote }}\n"
        "  countKind: {{ kindOf .Values.count | quote }}\n",
    ),
}


@pytest.fixture
def env(tmp_path: Path, helm_bin: str, kustomize_bin: str) -> dict[str, str]:
    """The toolchain's binaries, and every cache (Git mirrors, pulled charts) inside the test's folder."""
    return {
        "GITWARD_TOOL_HELM": helm_bin,
        "GITWARD_TOOL_KUSTOMIZE": kustomize_bin,
        "GITWARD_CACHE": str(tmp_path / "cache"),
    }


def test_render_a_helm_folder_with_values_and_parameters(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "repo" / "chart", CHART)
    result = runner.invoke(
        app,
        [
            "render",
            str(tmp_path / "repo"),
            "--path",
            "chart",
            "--values",
            "values-prod.yaml",
            "--helm-set-string",
            "count=2",
            "--release-name",
            "rel",
            "-n",
            "prod",
            "-o",
            "json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    [obj] = json.loads(result.stdout)
    assert obj["metadata"] == {"name": "rel-web", "namespace": "prod"}
    assert obj["data"] == {"greeting": "prod", "countKind": "string"}
    plain = runner.invoke(
        app, ["render", str(tmp_path / "repo"), "--path", "chart", "--helm-set", "greeting=x"], env=env
    )
    assert plain.exit_code == 0, plain.output
    # The app name defaults to the folder's: it is the release name.
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(plain.stdout)] == ["chart-web"]


def test_render_a_kustomize_folder(tmp_path: Path, env: dict[str, str]) -> None:
    write(
        tmp_path / "repo",
        {"app/kustomization.yaml": "namePrefix: k-\nresources: [cm.yaml]\n", "app/cm.yaml": cm("x")},
    )
    result = runner.invoke(app, ["render", str(tmp_path / "repo"), "--path", "app"], env=env)
    assert result.exit_code == 0, result.output
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(result.stdout)] == ["k-x"]


def test_validation_errors_print_file_line_column_and_exit_2(tmp_path: Path, env: dict[str, str]) -> None:
    write(
        tmp_path / "repo",
        {"app/kustomization.yaml": "resources:\n- https://github.com/org/repo//base?ref=v1\n"},
    )
    result = runner.invoke(app, ["render", str(tmp_path / "repo"), "--path", "app"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "app/kustomization.yaml:2:3: resources 'https://github.com/org/repo//base?ref=v1'"
    )
    write(tmp_path / "repo" / "chart", CHART)
    escape = runner.invoke(
        app, ["render", str(tmp_path / "repo"), "--path", "chart", "--values", "../../x.yaml"], env=env
    )
    assert escape.exit_code == 2
    assert (
        escape.stderr.strip() == "../../x.yaml: spec helm.valueFiles[0] '../../x.yaml': leaves the repository"
    )


def test_render_a_git_url_at_a_revision(tmp_path: Path, env: dict[str, str]) -> None:
    served = tmp_path / "served"
    upstream = Upstream(served / "app")
    upstream.commit({f"deploy/chart/{k}": v for k, v in CHART.items()}, "chart")
    upstream.tag("v1.0.0")
    upstream.commit({"deploy/chart/values.yaml": "greeting: newer\ncount: 1\n"}, "newer")
    with git_daemon(served) as prefix:
        base = ["render", f"{prefix}/app", "--path", "deploy/chart", "--app-name", "a", "-o", "json"]
        old = runner.invoke(app, [*base, "--revision", "v1.0.0"], env=env)
        new = runner.invoke(app, [*base, "--revision", "main"], env=env)
    assert old.exit_code == 0, old.output
    assert new.exit_code == 0, new.output
    assert json.loads(old.stdout)[0]["data"]["greeting"] == "default"
    assert json.loads(new.stdout)[0]["data"]["greeting"] == "newer"


def test_render_an_application_with_several_sources(tmp_path: Path, env: dict[str, str]) -> None:
    served = tmp_path / "served"
    Upstream(served / "charts").commit({f"web/{k}": v for k, v in CHART.items()}, "chart")
    Upstream(served / "config").commit(
        {"prod/values.yaml": "greeting: from-config\n", "prod/extra/cm.yaml": cm("extra")}, "config"
    )
    with git_daemon(served) as prefix:
        application = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "shop"},
            "spec": {
                "destination": {"namespace": "prod"},
                "sources": [
                    {
                        "repoURL": f"{prefix}/charts",
                        "path": "web",
                        "helm": {"valueFiles": ["$config/prod/values.yaml"]},
                    },
                    {"repoURL": f"{prefix}/config", "ref": "config", "path": "prod/extra"},
                ],
            },
        }
        (tmp_path / "app.yaml").write_text(yaml.safe_dump(application))
        result = runner.invoke(app, ["render", "--app", str(tmp_path / "app.yaml"), "-o", "json"], env=env)
    assert result.exit_code == 0, result.output
    objects = json.loads(result.stdout)
    assert names(objects) == ["shop-web", "extra"]
    assert objects[0]["metadata"]["namespace"] == "prod"
    assert objects[0]["data"]["greeting"] == "from-config"


def test_render_a_chart_from_a_helm_repository(env: dict[str, str], helm_repo: tuple[str, Path]) -> None:
    url, _ = helm_repo
    result = runner.invoke(
        app, ["render", url, "--chart", "hello", "--revision", "0.2.0", "-o", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    [obj] = json.loads(result.stdout)
    assert obj["metadata"]["name"] == "hello-hello"
    assert obj["data"]["version"] == "0.2.0"
    missing = runner.invoke(app, ["render", url, "--chart", "nope", "--revision", "1.0.0"], env=env)
    assert missing.exit_code == 1
    assert "cannot pull chart nope 1.0.0" in missing.stderr


def test_json_output_of_a_manifest_with_a_date_keeps_it_a_string(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "repo", {"cm.yaml": cm("x", data="data:\n  released: 2024-01-01\n")})
    result = runner.invoke(app, ["render", str(tmp_path / "repo"), "-o", "json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["data"] == {"released": "2024-01-01"}
