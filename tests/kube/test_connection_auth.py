"""Credentials through the HTTP client: a rotated token file is re-read on a 401, never logged."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from gitward.kube import KubeError
from gitward.kube.connection import Connection
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster


def token_file_kubeconfig(cluster: Cluster, token_file: Path, path: Path) -> Path:
    """A kubeconfig whose user is a token file, as the in-cluster service account's is."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": cluster.server,
                    "certificate-authority": str(cluster.state.layout.pki.ca_cert),
                },
            }
        ],
        "users": [{"name": "u", "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def test_a_rotated_token_file_is_read_again_after_a_401(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    account = f"reader-{secrets.token_hex(3)}"
    cluster.kubectl("create", "serviceaccount", account, "-n", namespace)
    token_file = tmp_path / "token"
    stale = secrets.token_hex(16)
    token_file.write_text(stale)
    connection = Connection.from_kubeconfig(token_file_kubeconfig(cluster, token_file, tmp_path / "kc"))
    try:
        with pytest.raises(KubeError) as refused:
            await connection.request("GET", "/api")
        assert refused.value.code == 401
        assert stale not in str(refused.value)
        # The kubelet rotates the projected token in place; the connection must follow without a restart.
        token_file.write_text(cluster.kubectl("create", "token", account, "-n", namespace).strip())
        answer = await connection.request("GET", "/api")
        assert answer["kind"] == "APIVersions"
    finally:
        await connection.aclose()


async def test_an_unreachable_server_is_a_kube_error_naming_the_request(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("x")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"tokenFile": str(token_file)}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config))
    connection = Connection.from_kubeconfig(path)
    try:
        with pytest.raises(KubeError) as failed:
            await connection.request("GET", "/api/v1/namespaces")
        assert failed.value.code == 0 and failed.value.reason == "Unreachable"
        assert "GET /api/v1/namespaces" in str(failed.value)
    finally:
        await connection.aclose()
