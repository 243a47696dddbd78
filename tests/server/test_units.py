"""The server's pure parts: the app index (filters, paging, change announcements), token records."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gitward.server.auth import ALL_PROJECTS, Role, digest, parse_secret, record
from gitward.server.index import AppIndex, Filters, decode_token


def app(name: str, project: str = "default", version: str = "1", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "gitward", "resourceVersion": version},
        "spec": {
            "project": project,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"ns-{name}"},
            "source": {"repoURL": "https://git.example/r.git", "path": name, "targetRevision": "main"},
        },
        "status": status,
    }


def test_pages_follow_name_order_and_survive_inserts() -> None:
    index = AppIndex("gitward.dev")
    for n in ("c", "a", "e"):
        index.upsert(app(n))
    first = index.page(Filters(), 2)
    assert [i["metadata"]["name"] for i in first.items] == ["a", "c"]
    assert first.total == 3 and first.next is not None
    index.upsert(app("b"))  # lands before the boundary: the next page neither repeats nor skips
    second = index.page(Filters(), 2, decode_token(first.next))
    assert [i["metadata"]["name"] for i in second.items] == ["e"]
    assert second.next is None and second.total == 4


def test_filters_and_visibility() -> None:
    index = AppIndex("gitward.dev")
    index.upsert(app("web", "a", health={"status": "Degraded"}))
    index.upsert(app("api", "a", sync={"status": "Synced"}))
    index.upsert(app("db", "b"))

    def names(filters: Filters) -> list[str]:
        return [i["metadata"]["name"] for i in index.page(filters, 100).items]

    assert names(Filters(health="Degraded")) == ["web"]
    assert names(Filters(sync="Unknown")) == ["db", "web"]
    assert names(Filters(namespace="ns-db")) == ["db"]
    assert names(Filters(projects=frozenset({"a"}))) == ["api", "web"]
    assert names(Filters(visible=lambda p: p == "b")) == ["db"]
    assert names(Filters(cluster="https://kubernetes.default.svc", search="P")) == ["api"]


def test_status_changes_are_announced_once_and_other_groups_ignored() -> None:
    index = AppIndex("gitward.dev", namespace="gitward")
    heard: list[tuple[str, str]] = []
    index.listen(lambda change, item: heard.append((change, item["status"]["sync"].get("status", ""))))
    index.upsert(app("web"))
    index.upsert(app("web", version="2", sync={"status": "Synced"}))
    index.upsert(app("web", version="2", sync={"status": "Synced"}))  # a relist repeating it
    index.upsert({**app("x"), "apiVersion": "argoproj.io/v1alpha1"})
    index.remove(app("web"))
    assert heard == [("ADDED", ""), ("MODIFIED", "Synced"), ("DELETED", "Synced")]
    assert len(index) == 0


@pytest.mark.parametrize("token", ["", "bm9zbGFzaA", "!!"])
def test_foreign_continue_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError, match="continue token"):
        decode_token(token)


def test_token_records_keep_only_a_hash() -> None:
    token = "gw_" + "x" * 43
    entry = record(Role.admin, ["shop"], token)
    assert token not in json.dumps(entry)
    secret = {
        "data": {
            "ci": base64.b64encode(json.dumps(entry).encode()).decode(),
            "broken": base64.b64encode(b"not json").decode(),
        }
    }
    principals = parse_secret(secret)
    found = principals[digest(token)]
    assert found.name == "ci" and found.can_write("shop") and not found.can_read("other")
    assert len(principals) == 1
    reader = parse_secret(
        {"data": {"r": base64.b64encode(json.dumps(record(Role.read_only, [], "t")).encode()).decode()}}
    )
    only = next(iter(reader.values()))
    assert only.projects == frozenset({ALL_PROJECTS}) and only.can_read("any") and not only.can_write("any")
