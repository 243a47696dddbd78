"""`gitward token create` against the real cluster: the token is printed once and only its hash is stored."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from gitward.server.auth import SECRET_NAME, digest
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster


def token_create(cluster: Cluster, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gitward", "token", "create", *args]
    return subprocess.run(
        [*command, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_is_printed_once_and_stored_as_a_hash(cluster: Cluster, namespace: str) -> None:
    made = token_create(cluster, namespace, "ci", "--role", "admin", "--project", "shop")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("gw_") and len(token) > 40
    secret = cluster.get_json("secret", SECRET_NAME, "-n", namespace)
    stored = json.loads(base64.b64decode(secret["data"]["ci"]))
    assert stored["sha256"] == digest(token)
    assert stored["role"] == "admin" and stored["projects"] == ["shop"]
    assert token not in json.dumps(secret)

    again = token_create(cluster, namespace, "ci")
    assert again.returncode == 1 and "exists" in again.stderr and again.stdout == ""
    bad = token_create(cluster, namespace, "Not A Name")
    assert bad.returncode == 1 and "token name" in bad.stderr
    second = token_create(cluster, namespace, "reader")
    assert second.returncode == 0
    names = sorted(cluster.get_json("secret", SECRET_NAME, "-n", namespace)["data"])
    assert names == ["ci", "reader"]  # the first token survived the second's creation
