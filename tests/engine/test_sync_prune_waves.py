"""Pruning interleaved with the Sync phase's waves, against the real session cluster."""

from __future__ import annotations

import pytest

from gitward.engine.sync.operation import SyncRequest, sync
from gitward.kube import Connection, Discovery, Writer
from gitward.model.status import OperationPhase, ResultCode
from tests.engine.test_sync import config_map
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

WAVE = "gitward.dev/sync-wave"


@pytest.fixture
def writer(connection: Connection) -> Writer:
    return Writer(connection, Discovery(connection, min_refresh=0.5))


async def test_objects_are_pruned_in_reverse_wave_order_between_the_applies(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"pw-{namespace}"
    first = [config_map(f"gone{n}", **{WAVE: str(n)}) for n in (0, 2)] + [
        config_map(f"stay{n}", **{WAVE: str(n)}) for n in (0, 1, 2)
    ]
    result = await sync(SyncRequest(app=app, objects=first, namespace=namespace, wait=False), writer)
    assert result.phase is OperationPhase.succeeded, result.message
    # The next revision drops gone0 and gone2 and changes every object that stays.
    second = [config_map(f"stay{n}", **{WAVE: str(n)}) for n in (0, 1, 2)]
    for cm in second:
        cm["data"] = {"k": "v2"}
    said: list[str] = []

    result = await sync(
        SyncRequest(app=app, objects=second, namespace=namespace, prune=True, wait=False),
        writer,
        progress=said.append,
    )

    assert result.phase is OperationPhase.succeeded, result.message
    steps = [line for line in said if line.startswith(("pruning", "Sync wave"))]
    # Prune waves 0 and 2 swap places: gone2 goes before wave 0's applies, gone0 before wave 2's.
    assert steps == [
        "pruning 1 object(s) of wave 2",
        "Sync wave 0: 1 object(s)",
        "Sync wave 1: 1 object(s)",
        "pruning 1 object(s) of wave 0",
        "Sync wave 2: 1 object(s)",
    ]
    pruned = sorted(r.key.name for r in result.resources if r.status is ResultCode.pruned)
    assert pruned == ["gone0", "gone2"]
    names = cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name").split()
    assert sorted(n for n in names if "kube-root" not in n) == [f"configmap/stay{n}" for n in (0, 1, 2)]
