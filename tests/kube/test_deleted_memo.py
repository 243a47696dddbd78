"""The writer remembers what its own DELETEs removed, so a lagging watch cache cannot undo them.

A prune deletes an object; the watch that feeds the cache may show it a
moment later. Until then the cached copy must not count as an object still
to prune (which set off a second sync of the same revision, hooks and all).
"""

from __future__ import annotations

from typing import Any, cast

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import ApiResource, Discovery

CONFIG_MAPS = ApiResource("", "v1", "ConfigMap", "configmaps", True, frozenset({"delete"}))


class Answers:
    """A connection whose DELETE answers with `answer`."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    async def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        assert method == "DELETE"
        return self.answer


class OneKind:
    async def resolve(self, api_version: str, kind: str) -> ApiResource:
        return CONFIG_MAPS


def writer(answer: dict[str, Any]) -> Writer:
    return Writer(cast(Connection, Answers(answer)), cast(Discovery, OneKind()))


def cached(uid: str, **metadata: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "old", "namespace": "shop", "uid": uid, **metadata},
    }


async def test_a_copy_of_an_object_we_deleted_is_on_its_way_out() -> None:
    # Foreground: the answer is the object itself, marked for deletion.
    ours = writer(cached("u-1", deletionTimestamp="2026-01-01T00:00:00Z"))
    assert await ours.delete("v1", "ConfigMap", "old", "shop")
    assert ours.deleting(cached("u-1")), "the cache's copy from before the delete"
    assert not ours.deleting(cached("u-2")), "a copy re-created under the same name is not"


async def test_a_status_answer_names_the_uid() -> None:
    ours = writer({"kind": "Status", "status": "Success", "details": {"name": "old", "uid": "u-1"}})
    await ours.delete("v1", "ConfigMap", "old", "shop")
    assert ours.deleting(cached("u-1"))


async def test_a_dry_run_delete_removes_nothing() -> None:
    ours = writer(cached("u-1"))
    await ours.delete("v1", "ConfigMap", "old", "shop", dry_run=True)
    assert not ours.deleting(cached("u-1"))


def test_an_object_marked_for_deletion_by_anyone_is_on_its_way_out() -> None:
    assert writer({}).deleting(cached("u-1", deletionTimestamp="2026-01-01T00:00:00Z"))
    assert not writer({}).deleting(cached("u-1"))
