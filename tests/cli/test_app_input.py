"""`gitward app` against the real cluster without a controller: bad input, and what the commands write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.support import app_cli
from tests.e2e.support import install_crds
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

SHA_OLD = "0123456789abcdef0123456789abcdef01234567"
SHA_NEW = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def crds(cluster: Cluster) -> None:
    install_crds(cluster)


def stored_apps(cluster: Cluster, namespace: str) -> str:
    return cluster.kubectl("get", "applications.gitward.dev", "-n", namespace, "-o", "name")


def create_shop(cluster: Cluster, namespace: str, *extra: str) -> None:
    ran = app_cli(
        cluster, namespace, "create", "shop", "--repo", "https://git.example/shop.git", "--path", "deploy",
        "--dest-namespace", "shop", *extra,
    )  # fmt: skip
    assert ran.code == 0, ran.err


@pytest.mark.parametrize(
    "command",
    [
        ("get", "ghost"),
        ("history", "ghost"),
        ("sync", "ghost"),
        ("rollback", "ghost"),
        ("delete", "ghost", "-y"),
    ],
)
def test_an_unknown_app_is_named_with_its_namespace(
    cluster: Cluster, namespace: str, crds: None, command: tuple[str, ...]
) -> None:
    ran = app_cli(cluster, namespace, *command)
    assert ran.code == 2
    assert f"application 'ghost' not found in namespace {namespace}" in ran.err
    assert ran.out == ""


def test_bad_flags_are_refused_before_anything_is_written(
    cluster: Cluster, namespace: str, crds: None
) -> None:
    refused = [
        (("list", "-o", "xml"), "xml"),
        (
            ("create", "shop", "--repo", "https://git.example/r.git", "--sync-policy", "sometimes"),
            "sometimes",
        ),
        (("create", "shop", "--repo", "https://git.example/r.git", "--helm-set", "replicas"), "name=value"),
        (
            ("create", "shop", "--repo", "https://git.example/r.git", "--sync-option", "Prunelast=true"),
            "Prunelast",
        ),
        (("create", "shop", "--path", "deploy"), "repoURL"),
        (("sync", "shop", "--resource", "apps:Deployment"), "GROUP:KIND:NAME"),
    ]
    for args, named in refused:
        ran = app_cli(cluster, namespace, *args)
        assert ran.code == 2, (args, ran.err)
        assert named in ran.err, (args, ran.err)
    assert stored_apps(cluster, namespace) == ""


def test_a_malformed_file_is_reported_at_its_line_and_column(
    cluster: Cluster, namespace: str, crds: None, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("metadata:\n  name: shop\nspec: {destination: [\n")
    ran = app_cli(cluster, namespace, "create", "-f", str(broken))
    assert ran.code == 2
    assert f"{broken}:4:1: malformed YAML" in ran.err

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Application\n"
        "metadata:\n"
        "  name: shop\n"
        "spec:\n"
        "  destination: {namespace: shop}\n"
        "  source:\n"
        "    repoURL: https://git.example/shop.git\n"
        "    path: [deploy]\n"
    )
    ran = app_cli(cluster, namespace, "create", "-f", str(wrong))
    assert ran.code == 2
    assert f"{wrong}:9:11: spec.source.path: expected a string, got a list" in ran.err
    assert stored_apps(cluster, namespace) == ""


def test_create_from_a_file_list_get_and_upsert(
    cluster: Cluster, namespace: str, crds: None, tmp_path: Path
) -> None:
    manifest = tmp_path / "shop.yaml"
    manifest.write_text(
        "apiVersion: argoproj.io/v1alpha1\n"  # an Argo CD manifest is taken as it is
        "kind: Application\n"
        "metadata: {name: shop, labels: {team: red}}\n"
        "spec:\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: shop}\n"
        "  source: {repoURL: 'https://git.example/shop.git', path: deploy, targetRevision: main}\n"
    )
    ran = app_cli(
        cluster, namespace, "create", "-f", str(manifest), "--sync-policy", "automated", "--self-heal"
    )
    assert (ran.code, ran.out.strip()) == (0, "application 'shop' created")
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert stored["spec"]["syncPolicy"] == {"automated": {"selfHeal": True}}
    assert stored["metadata"]["labels"] == {"team": "red"}

    assert app_cli(cluster, namespace, "list", "-o", "name").out == "shop\n"
    assert app_cli(cluster, namespace, "list", "-l", "team=blue", "-o", "name").out == ""
    table = app_cli(cluster, namespace, "list", "-o", "wide").out
    assert "shop" in table and "Auto" in table and "https://git.example/shop.git" in table
    shown = app_cli(cluster, namespace, "get", "shop", "-o", "json").json()
    assert shown["spec"]["source"]["targetRevision"] == "main"

    again = app_cli(
        cluster, namespace, "create", "-f", str(manifest), "--sync-policy", "automated", "--self-heal"
    )
    assert (again.code, again.out.strip()) == (0, "application 'shop' unchanged")
    other = app_cli(cluster, namespace, "create", "-f", str(manifest), "--path", "other")
    assert other.code == 2 and "--upsert" in other.err
    upserted = app_cli(cluster, namespace, "create", "-f", str(manifest), "--path", "other", "--upsert")
    assert (upserted.code, upserted.out.strip()) == (0, "application 'shop' updated")
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert stored["spec"]["source"]["path"] == "other"
    assert "syncPolicy" not in stored["spec"]  # the spec is replaced, not merged


def test_rollback_and_sync_write_the_request_the_controller_reads(
    cluster: Cluster, namespace: str, crds: None
) -> None:
    create_shop(cluster, namespace, "--sync-policy", "automated")
    source = {"repoURL": "https://git.example/shop.git", "path": "deploy", "targetRevision": "HEAD"}
    history = [
        {"id": 0, "revision": SHA_OLD, "source": source, "deployedAt": "2026-01-01T00:00:00Z"},
        {"id": 1, "revision": SHA_NEW, "source": source, "deployedAt": "2026-01-02T00:00:00Z"},
    ]
    cluster.kubectl(
        "patch", "applications.gitward.dev", "shop", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"history": history}}),
    )  # fmt: skip
    listed = app_cli(cluster, namespace, "history", "shop")
    assert listed.code == 0
    assert listed.out.index(SHA_NEW) < listed.out.index(SHA_OLD)  # newest first

    missing = app_cli(cluster, namespace, "rollback", "shop", "7")
    assert missing.code == 2 and "no history ID 7 (known: 0, 1)" in missing.err

    ran = app_cli(cluster, namespace, "rollback", "shop", "--async")
    assert ran.code == 0, ran.err
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    annotations = stored["metadata"]["annotations"]
    assert annotations["gitward.dev/automation-paused"] == f"rollback to history 0 ({SHA_OLD[:12]})"
    operation = stored["operation"]
    assert operation["sync"] == {"revision": SHA_OLD, "source": source}
    assert operation["info"] == [{"name": "rollback", "value": "0"}]
    assert operation["initiatedBy"]["username"]

    busy = app_cli(cluster, namespace, "sync", "shop", "--async")
    assert busy.code == 1 and "already in progress" in busy.err

    cluster.kubectl(
        "patch",
        "applications.gitward.dev",
        "shop",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"operation":null}',
    )
    ran = app_cli(
        cluster, namespace, "sync", "shop", "--async", "--prune", "--resource", "apps:Deployment:web"
    )
    assert ran.code == 0, ran.err
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert "gitward.dev/automation-paused" not in (stored["metadata"].get("annotations") or {})
    assert stored["operation"]["sync"] == {
        "prune": True,
        "dryRun": False,
        "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
    }


def test_delete_without_cascade_removes_the_finalizer_first(
    cluster: Cluster, namespace: str, crds: None
) -> None:
    create_shop(cluster, namespace, "--set-finalizer")
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert stored["metadata"]["finalizers"] == ["gitward.dev/resources-finalizer"]
    refused = app_cli(cluster, namespace, "delete", "shop")  # no TTY, no -y: nothing happens
    assert refused.code == 2 and "-y" in refused.err
    ran = app_cli(cluster, namespace, "delete", "shop", "--no-cascade", "-y", "--wait", "--timeout", "30")
    assert ran.code == 0, ran.err
    assert stored_apps(cluster, namespace) == ""


def test_argo_cd_applications_in_compatibility_mode(cluster: Cluster, namespace: str) -> None:
    install_crds(cluster, compat_argocd=True)
    compat = ("--api-group", "argoproj.io")
    ran = app_cli(
        cluster, namespace, "create", "shop", "--repo", "https://git.example/shop.git", "--path", "deploy",
        "--set-finalizer", *compat,
    )  # fmt: skip
    assert ran.code == 0, ran.err
    stored = cluster.get_json("applications.argoproj.io", "shop", "-n", namespace)
    assert stored["apiVersion"] == "argoproj.io/v1alpha1"
    assert stored["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app_cli(cluster, namespace, "list", "-o", "name", *compat).out == "shop\n"
    assert stored_apps(cluster, namespace) == ""  # nothing under gitward.dev
