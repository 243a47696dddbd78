"""`gitward diff --local DIR`: what a user sees, against the real local cluster."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from gitward.cli import app
from gitward.engine import tracking
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

runner = CliRunner()

PASSWORD = "correct-horse-battery"

MANIFESTS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: app
          image: registry.example/web:1
          resources: {{limits: {{cpu: 1, memory: 256Mi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: db}}
stringData: {{password: {PASSWORD}}}
"""


def gitward_diff(cluster: Cluster, folder: Path, namespace: str, *extra: str) -> Result:
    args = ["diff", "--local", str(folder), "--app", "shop", "--dest-namespace", namespace]
    return runner.invoke(app, [*args, "--kubeconfig", str(cluster.kubeconfig), *extra])


def sync_by_hand(cluster: Cluster, folder: Path, namespace: str) -> None:
    """What a sync would write: the rendered objects, in the namespace, stamped, applied as gitward."""
    objects: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all((folder / "app.yaml").read_text()):
        doc["metadata"]["namespace"] = namespace
        objects.append(tracking.stamp(doc, "shop"))
    for obj in objects:
        cluster.kubectl("apply", "--server-side", "--field-manager=gitward", "-f", "-", stdin=json.dumps(obj))


def assert_no_secret(result: Result) -> None:
    for text in (result.stdout, result.stderr):
        assert PASSWORD not in text
        assert base64.b64encode(PASSWORD.encode()).decode() not in text


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    return tmp_path


def test_exit_1_while_objects_would_be_created_then_0_once_in_sync(
    cluster: Cluster, namespace: str, folder: Path
) -> None:
    before = gitward_diff(cluster, folder, namespace)
    assert before.exit_code == 1, before.output
    assert f"apps/Deployment {namespace}/web would be created" in before.stdout
    assert "+    gitward.dev/tracking-id: shop:apps/Deployment:" in before.stdout
    assert_no_secret(before)

    sync_by_hand(cluster, folder, namespace)
    after = gitward_diff(cluster, folder, namespace)

    assert after.exit_code == 0, after.output
    assert after.stdout.strip() == "3 objects: 3 in sync, 0 differ"


def test_a_kubectl_edit_shows_in_the_diff_and_in_json(cluster: Cluster, namespace: str, folder: Path) -> None:
    sync_by_hand(cluster, folder, namespace)
    cluster.kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=7")
    cluster.kubectl(
        "patch",
        "secret",
        "db",
        "-n",
        namespace,
        "-p",
        json.dumps({"stringData": {"password": "sw0rdfish-42"}}),
    )

    shown = gitward_diff(cluster, folder, namespace)
    as_json = gitward_diff(cluster, folder, namespace, "-o", "json")

    assert shown.exit_code == 1, shown.output
    assert f"apps/Deployment {namespace}/web differs" in shown.stdout
    assert "-  replicas: 7\n+  replicas: 2" in shown.stdout
    assert f"Secret {namespace}/db differs" in shown.stdout
    assert as_json.exit_code == 1
    verdicts = {(r["kind"], r["status"]) for r in json.loads(as_json.stdout)}
    assert verdicts == {("Deployment", "OutOfSync"), ("Service", "Synced"), ("Secret", "OutOfSync")}
    for result in (shown, as_json):
        assert_no_secret(result)
        assert "sw0rdfish-42" not in result.stdout
        assert base64.b64encode(b"sw0rdfish-42").decode() not in result.stdout


def test_ignore_differences_file_hides_what_kubectl_scale_changed(
    cluster: Cluster, namespace: str, folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sync_by_hand(cluster, folder, namespace)
    cluster.kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=7")
    rules = tmp_path_factory.mktemp("rules") / "ignore.yaml"
    rules.write_text("- {group: apps, kind: Deployment, managedFieldsManagers: [kubectl]}\n")

    result = gitward_diff(cluster, folder, namespace, "--ignore-differences", str(rules))

    assert result.exit_code == 0, result.output


def test_validation_errors_print_file_line_column_and_exit_2(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")

    result = gitward_diff(cluster, tmp_path, namespace)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["a.yaml:1:1: ConfigMap has no metadata.name"]


def test_an_object_the_server_refuses_exits_2_naming_the_field(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}], colour: blue}\n"
    )

    result = gitward_diff(cluster, tmp_path, namespace)

    assert result.exit_code == 2
    assert f"Service {namespace}/s:" in result.stderr
    assert "colour" in result.stderr
    assert f"ConfigMap {namespace}/a would be created" in result.stdout


def test_an_unreachable_cluster_is_one_line_and_exit_2(folder: Path, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {token: abc}}]\n"
    )
    args = ["diff", "--local", str(folder), "--app", "shop", "--dest-namespace", "ns"]

    result = runner.invoke(app, [*args, "--kubeconfig", str(config)])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot reach https://127.0.0.1:9" in result.stderr
