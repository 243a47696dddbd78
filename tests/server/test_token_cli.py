"""`gitward token create|list|delete` against the real cluster: printed once, stored as a hash, revocable."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys

import pytest

from gitward.server import auth
from gitward.server.auth import SECRET_NAME, digest
from tests.helpers import Cluster
from tests.server.conftest import Serve, client, until_async

pytestmark = pytest.mark.cluster


def token_cli(cluster: Cluster, namespace: str, verb: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gitward", "token", verb, *args]
    return subprocess.run(
        [*command, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def token_create(cluster: Cluster, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    return token_cli(cluster, namespace, "create", *args)


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


def test_list_shows_each_token_without_the_token_or_its_hash(cluster: Cluster, namespace: str) -> None:
    empty = token_cli(cluster, namespace, "list", "-o", "json")
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout) == []
    ci = token_create(cluster, namespace, "ci", "--role", "admin", "-p", "shop", "-p", "web").stdout.strip()
    reader = token_create(cluster, namespace, "reader").stdout.strip()

    listed = token_cli(cluster, namespace, "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["projects"]) for r in rows] == [
        ("ci", "admin", ["shop", "web"]),
        ("reader", "read-only", ["*"]),
    ]
    assert all(r["created"].endswith("Z") for r in rows)
    table = token_cli(cluster, namespace, "list")
    assert table.returncode == 0, table.stderr
    assert "shop,web" in table.stdout and "read-only" in table.stdout
    for printed in (listed.stdout, table.stdout):
        for token in (ci, reader):
            assert token not in printed and digest(token) not in printed


def test_delete_removes_one_token_and_refuses_an_unknown_name(cluster: Cluster, namespace: str) -> None:
    nothing = token_cli(cluster, namespace, "delete", "ci")
    assert nothing.returncode == 1 and "no token named 'ci'" in nothing.stderr
    assert token_create(cluster, namespace, "ci").returncode == 0
    assert token_create(cluster, namespace, "reader").returncode == 0
    unknown = token_cli(cluster, namespace, "delete", "cj")
    assert unknown.returncode == 1 and "no token named 'cj'" in unknown.stderr

    deleted = token_cli(cluster, namespace, "delete", "ci")
    assert deleted.returncode == 0, deleted.stderr
    rows = json.loads(token_cli(cluster, namespace, "list", "-o", "json").stdout)
    assert [r["name"] for r in rows] == ["reader"]
    again = token_cli(cluster, namespace, "delete", "ci")
    assert again.returncode == 1 and "no token named 'ci'" in again.stderr


async def test_a_running_server_refuses_a_deleted_token_through_its_watch(
    cluster: Cluster, namespace: str, serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No periodic re-read while the test runs: only the watch on the Secret can revoke a token it knows.
    monkeypatch.setattr(auth, "_KEEP_FOR", 3600.0)

    async def cli(verb: str, *args: str) -> subprocess.CompletedProcess[str]:
        # In a thread: the server answers from this test's event loop meanwhile.
        return await asyncio.to_thread(token_cli, cluster, namespace, verb, *args)

    leaving = (await cli("create", "leaving", "--role", "admin")).stdout.strip()
    staying = (await cli("create", "staying")).stdout.strip()
    async with serve() as url, client(url, leaving) as revoked, client(url, staying) as kept:
        assert (await revoked.get("/api/v1/applications")).status_code == 200
        assert (await kept.get("/api/v1/applications")).status_code == 200
        assert (await cli("delete", "leaving")).returncode == 0

        async def refused() -> bool:
            return (await revoked.get("/api/v1/applications")).status_code == 401

        await until_async(refused, what="the deleted token to be refused")
        assert (await kept.get("/api/v1/applications")).status_code == 200
        # A token made while the server runs works at once (its first use reads the Secret).
        late = (await cli("create", "late")).stdout.strip()
        async with client(url, late) as newcomer:
            assert (await newcomer.get("/api/v1/applications")).status_code == 200
