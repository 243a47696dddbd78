"""Finding 1: a spec value read by helm as a flag ran a chart line in a shell.

`helm.releaseName: "--post-renderer=sh"` made `helm template` pipe the
rendered chart into `sh`, in the controller and in the server (a read-only
token's GET .../manifests was enough). The chart used here holds a line that
is harmless YAML but a command to a shell (`run: x; touch <canary>`), so any
way a value becomes a helm flag again shows up as the canary file.

Three layers are attacked:
- the spec, as a tenant writes it (the controller and the API server): an
  InvalidSpecError naming the field, nothing rendered;
- the renderer called with values that never went through the model (the
  app's name, the destination namespace, the cluster's version, a spec made in
  code): refused naming the field before helm starts;
- helm's own command line: every positional argument comes after `--`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.model import ApplicationSource, HelmParameter, HelmSource
from gitward.render import AppContext, Renderer, RenderSettings, SourceTree, Tools, ValidationFailed
from gitward.server.auth import Role, create_token
from tests.e2e.support import app_status, condition, until
from tests.helpers import Cluster
from tests.render.conftest import helm_bin, kustomize_bin, tools, write  # noqa: F401
from tests.security.conftest import Bystander
from tests.server.conftest import Serve, client, serve  # noqa: F401
from tests.source.servers import Upstream

SHA = "c" * 40
FLAG = "--post-renderer=sh"


def evil_chart(canary: Path) -> dict[str, str]:
    """A chart whose output, fed to a shell, creates the canary (and is a valid ConfigMap otherwise)."""
    return {
        "chart/Chart.yaml": "apiVersion: v2\nname: evil\nversion: 1.0.0\n",
        "chart/templates/cm.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\ndata:\n  run: x; touch {canary}\n"
        ),
    }


def test_the_payload_is_live_helm_itself_would_run_it(helm_bin: str, tmp_path: Path) -> None:  # noqa: F811
    """The control: with the old command line (no `--`, the name unchecked) helm does run the shell."""
    touched = tmp_path / "control" / "touched"
    touched.parent.mkdir()
    chart = write(tmp_path / "repo", evil_chart(touched)) / "chart"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HELM_NO_PLUGINS": "1"}
    subprocess.run([helm_bin, "template", FLAG, str(chart)], env=env, capture_output=True, check=False)
    assert touched.exists(), "helm no longer honours --post-renderer=sh; this test proves nothing"


def _renderer(tools: Tools, tmp_path: Path) -> Renderer:  # noqa: F811
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return Renderer(tools, RenderSettings(scratch_dir=scratch, charts_dir=tmp_path / "charts"))


# (what is hostile, the source, the app context, the field the error must name)
HOSTILE: list[tuple[str, ApplicationSource, AppContext, str]] = [
    (
        "releaseName",
        ApplicationSource("https://git.example/a.git", "chart", helm=HelmSource(release_name=FLAG)),
        AppContext("shop", "prod"),
        "helm.releaseName",
    ),
    (
        "app name",
        ApplicationSource("https://git.example/a.git", "chart", helm=HelmSource()),
        AppContext(FLAG, "prod"),
        "the app's name",
    ),
    (
        "helm.namespace",
        ApplicationSource("https://git.example/a.git", "chart", helm=HelmSource(namespace=FLAG)),
        AppContext("shop", "prod"),
        "helm.namespace",
    ),
    (
        "destination namespace",
        ApplicationSource("https://git.example/a.git", "chart"),
        AppContext("shop", FLAG),
        "destination.namespace",
    ),
    (
        "kubeVersion",
        ApplicationSource("https://git.example/a.git", "chart", helm=HelmSource(kube_version=FLAG)),
        AppContext("shop", "prod"),
        "helm.kubeVersion",
    ),
    (
        "cluster version",
        ApplicationSource("https://git.example/a.git", "chart"),
        AppContext("shop", "prod", kube_version=FLAG),
        "the cluster's version",
    ),
    (
        "apiVersions",
        ApplicationSource("https://git.example/a.git", "chart", helm=HelmSource(api_versions=(FLAG,))),
        AppContext("shop", "prod"),
        "helm.apiVersions",
    ),
    (
        "parameter name",
        ApplicationSource(
            "https://git.example/a.git",
            "chart",
            helm=HelmSource(parameters=(HelmParameter(FLAG, "x"),)),
        ),
        AppContext("shop", "prod"),
        "helm.parameters[0].name",
    ),
    (
        "chart name",
        ApplicationSource("http://127.0.0.1:9/charts", chart=FLAG, target_revision="1.0.0"),
        AppContext("shop", "prod"),
        "source.chart",
    ),
    (
        "chart version",
        ApplicationSource("http://127.0.0.1:9/charts", chart="evil", target_revision=FLAG),
        AppContext("shop", "prod"),
        "source.targetRevision",
    ),
]


@pytest.mark.parametrize(("_what", "source", "app", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_flag_that_never_went_through_the_model_is_refused_by_the_renderer(
    tools: Tools,  # noqa: F811
    tmp_path: Path,
    canary: Path,
    _what: str,
    source: ApplicationSource,
    app: AppContext,
    field: str,
) -> None:
    root = write(tmp_path / "repo", evil_chart(canary))
    renderer = _renderer(tools, tmp_path)
    tree = None if source.chart else SourceTree(root, SHA)
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(source, tree, app)
    message = "\n".join(str(p) for p in failure.value.problems)
    assert field in message, message
    assert renderer.runner.total == 0, "helm was started with a hostile argument"


def test_values_beginning_with_a_dash_reach_helm_as_values_never_as_flags(
    tools: Tools,  # noqa: F811
    tmp_path: Path,
    canary: Path,
) -> None:
    """Where a dash is legitimate (a parameter's value), `--set=name=value` keeps it a value."""
    files = evil_chart(canary)
    files["chart/templates/cm.yaml"] += "  flag: {{ .Values.flag | quote }}\n"
    root = write(tmp_path / "repo", files)
    source = ApplicationSource.from_dict(
        {
            "repoURL": "https://git.example/a.git",
            "path": "chart",
            "helm": {"parameters": [{"name": "flag", "value": FLAG}]},
        }
    )
    objects = _renderer(tools, tmp_path).render(source, SourceTree(root, SHA), AppContext("shop", "prod"))
    assert objects[0]["data"]["flag"] == FLAG


# End to end, as a tenant: Applications in the cluster, the controller and the API server. ----------------

SPECS: list[tuple[str, dict[str, Any], str]] = [
    ("release", {"path": "chart", "helm": {"releaseName": FLAG}}, "helm.releaseName"),
    ("namespace", {"path": "chart", "helm": {"namespace": FLAG}}, "helm.namespace"),
    ("apis", {"path": "chart", "helm": {"apiVersions": [FLAG]}}, "helm.apiVersions[0]"),
    (
        "param",
        {"path": "chart", "helm": {"parameters": [{"name": FLAG, "value": "1"}]}},
        "parameters[0].name",
    ),
    ("values", {"path": "chart", "helm": {"valueFiles": [FLAG]}}, "helm.valueFiles[0]"),
    (
        "chart",
        {"repoURL": "https://charts.example/x", "chart": FLAG, "targetRevision": "1.0.0"},
        "source.chart",
    ),
]


def hostile_app(namespace: str, name: str, url: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"evil-{name}", "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"{namespace}-evil"},
            "source": {"repoURL": url, "targetRevision": "main", **source},  # a chart's repoURL wins
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


@pytest.mark.cluster
async def test_hostile_helm_flags_in_application_specs_are_refused_by_the_controller_and_the_api(
    cluster: Cluster,
    connection: Connection,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    serve: Serve,  # noqa: F811
    canary: Path,
) -> None:
    url, upstream = repo
    upstream.commit(evil_chart(canary))
    for name, source, _ in SPECS:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(hostile_app(namespace, name, url, source)))

    # The controller: an InvalidSpecError naming the field, while another team's app keeps healing.
    for name, _, field in SPECS:
        found = await until(
            lambda name=name: condition(app_status(cluster, namespace, f"evil-{name}"), "InvalidSpecError"),
            timeout=60,
            what=f"evil-{name} InvalidSpecError",
        )
        assert field in found["message"], found
        assert FLAG in found["message"], found
    await bystander.heals()

    # The API server: a read-only token asking for the manifests gets the same refusal, nothing runs.
    token = await create_token(connection, namespace, "reader", Role.read_only, ["*"])
    async with serve() as server, client(server, token) as api:
        for name, _, field in SPECS:
            answer = await api.get(f"/api/v1/applications/{namespace}/evil-{name}/manifests")
            assert answer.status_code == 422, answer.text
            assert field in answer.json()["detail"], answer.text
        await bystander.heals()

    # Nothing was applied for any of them, and no shell ever ran the chart.
    assert not canary.exists()
    assert cluster.kubectl("get", "configmap", "-A", "-o", "name").count("configmap/evil") == 0
