"""`gitward app manifests`: the objects an app renders to and the ones it deployed, Secrets masked.

The real command (a subprocess), the real controller, a real Git server and the real cluster.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
import yaml

from gitward.controller.run import Controller
from tests.cli.support import app_cli_async
from tests.e2e.support import live
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: login
stringData:
  password: {password}
"""

# A flow mapping never closed: the parser gives up where the file ends, at line 6.
MALFORMED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data: {colour: red
"""


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(doc for doc in docs if doc["kind"] == kind)


async def test_manifests_from_git_and_live_mask_secrets(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    password = f"pw-{secrets.token_hex(8)}"
    encoded = base64.b64encode(password.encode()).decode()
    upstream.commit({"deploy/secret.yaml": SECRET.format(password=password)})
    upstream.switch("broken", create=True)
    upstream.commit({"deploy/broken.yaml": MALFORMED})
    upstream.switch("main")
    target = f"vault-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    ran = await app_cli_async(
        cluster, namespace, "create", "vault", "--repo", url, "--path", "deploy", "--revision", "main",
        "--dest-namespace", target, "--sync-policy", "automated",
    )  # fmt: skip
    assert ran.code == 0, ran.err

    # From Git: what the sources render to, the Secret's value masked.
    ran = await app_cli_async(cluster, namespace, "manifests", "vault")
    assert ran.code == 0, ran.err
    assert password not in ran.out and encoded not in ran.out
    docs = documents(ran.out)
    assert {doc["kind"] for doc in docs} == {"ConfigMap", "Deployment", "Secret"}
    assert by_kind(docs, "ConfigMap")["data"] == {"colour": "blue"}
    assert by_kind(docs, "Secret")["stringData"] == {"password": "++++++++"}

    # Live: the objects the app deployed, as the cluster has them.
    ran = await app_cli_async(cluster, namespace, "wait", "vault", "--sync", "--timeout", "120")
    assert ran.code == 0, ran.err
    ran = await app_cli_async(cluster, namespace, "manifests", "vault", "--source", "live")
    assert ran.code == 0, ran.err
    assert password not in ran.out and encoded not in ran.out
    docs = documents(ran.out)
    config = by_kind(docs, "ConfigMap")
    in_cluster = live(cluster, "configmap", "settings", target)
    assert in_cluster is not None
    assert config["metadata"]["uid"] == in_cluster["metadata"]["uid"]
    assert "managedFields" not in config["metadata"]
    assert config["data"] == {"colour": "blue"}
    secret = by_kind(docs, "Secret")
    assert secret["metadata"]["namespace"] == target
    assert secret["data"] == {"password": "++++++++"}

    # Another revision that does not render: the problem, where it is, and exit 2.
    ran = await app_cli_async(cluster, namespace, "manifests", "vault", "--revision", "broken")
    assert ran.code == 2, ran.out + ran.err
    assert "deploy/broken.yaml:6:1: " in ran.err and "malformed YAML" in ran.err, ran.err
    assert ran.out == ""

    ran = await app_cli_async(cluster, namespace, "manifests", "missing")
    assert ran.code == 2 and "not found" in ran.err
