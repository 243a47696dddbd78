"""The object copy the engine uses instead of copy.deepcopy: equal, and sharing nothing mutable."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.diff.normalize import SERVER_METADATA, normalize
from gitward.engine.trees import object_copy, tree_copy

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


def mutables(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in mutables(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in mutables(v))]
    return []


@given(trees)
def test_a_copy_equals_the_original_and_shares_no_dict_or_list(tree: Any) -> None:
    copied = tree_copy(tree)
    assert copied == tree == copy.deepcopy(tree)
    assert not set(mutables(copied)) & set(mutables(tree))


@given(st.dictionaries(st.text(max_size=5), trees, max_size=5))
def test_normalize_drops_only_status_and_server_metadata(body: dict[str, Any]) -> None:
    metadata = {
        "name": "x",
        "managedFields": [{"manager": "m"}],
        "resourceVersion": "1",
        "labels": {"a": "b"},
    }
    obj = {**body, "metadata": metadata, "status": {"ready": True}}
    out = normalize(obj)
    expected = copy.deepcopy(obj)
    del expected["status"]
    for field in SERVER_METADATA:
        expected["metadata"].pop(field, None)
    assert out == expected and list(out) == list(expected)
    out["metadata"]["labels"]["a"] = "changed"
    assert obj["metadata"]["labels"] == {"a": "b"}
    assert object_copy(obj) == obj
