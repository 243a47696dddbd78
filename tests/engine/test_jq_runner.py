"""The jq worker pool (gitward.engine.diff.jq_runner): jq's own answers, bounded in time and memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import jq  # type: ignore[import-not-found]
import pytest

from gitward.engine.diff.ignore import IgnoreRuleError, apply_rules, load_rules
from gitward.engine.diff.jq_runner import JqError, JqRunner, JqStopped, JqTimeout

DOC: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "annotations": {"a": "1", "b": "2"}, "labels": {"x": "y"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {"name": "app", "image": "web:1", "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "proxy:1"},
                    {"name": "other", "image": "proxy:2"},
                ]
            }
        },
    },
}


@pytest.fixture
def runner() -> Iterator[JqRunner]:
    pool = JqRunner(workers=1, deadline=0.5)
    yield pool
    pool.close()


@pytest.mark.parametrize(
    "expression",
    [
        ".spec.replicas",
        ".metadata.annotations.a",
        '.spec.template.spec.containers[] | select(.name == "sidecar")',
        '.spec.template.spec.containers[] | select(.image | startswith("proxy"))',
        ".spec.template.spec.containers[].env",
        ".spec.template.spec.containers[1:]",
        ".metadata.labels, .metadata.annotations.b",
        ".missing.deeper",
        '.metadata.annotations | to_entries[] | select(.value == "1") | .key as $k | $k',
        "..|.image?",
        "empty",
    ],
)
async def test_answers_are_those_of_jq_del_in_process(runner: JqRunner, expression: str) -> None:
    try:
        expected = jq.compile(f"del({expression})").input_value(DOC).first()
    except ValueError as problem:
        with pytest.raises(JqError) as caught:
            await runner.delete_paths(expression, DOC)
        assert str(caught.value).split(" (")[0] in str(problem)
        return
    assert await runner.delete_paths(expression, DOC) == expected


async def test_an_expression_past_its_deadline_is_stopped_without_blocking_the_loop(runner: JqRunner) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    with pytest.raises(JqTimeout):
        await runner.delete_paths("last(range(1e12))", DOC)
    took = time.monotonic() - started
    ticking.cancel()
    assert 0.5 <= took < 3.0
    # The loop ran all along: about one tick per 10 ms of the half second.
    assert ticks >= 20
    assert runner.timeouts == 1

    # Refused at once for a while, without a worker spending its deadline again ...
    started = time.monotonic()
    with pytest.raises(JqTimeout, match="recently"):
        await runner.delete_paths("last(range(1e12))", DOC)
    assert time.monotonic() - started < 0.4
    # ... while other expressions run on a fresh worker.
    assert "replicas" not in (await runner.delete_paths(".spec.replicas", DOC))["spec"]


async def test_a_worker_that_runs_out_of_memory_is_replaced() -> None:
    runner = JqRunner(workers=1, deadline=60, memory=256 * 1024 * 1024)
    try:
        started = time.monotonic()
        with pytest.raises(JqStopped, match="out of memory"):
            await runner.delete_paths('reduce range(40) as $i ("x"; . + .) | .kind', DOC)
        # Stopped by the cap, long before the deadline.
        assert time.monotonic() - started < 30
        assert await runner.delete_paths(".kind", DOC) == {k: v for k, v in DOC.items() if k != "kind"}
    finally:
        runner.close()


@pytest.mark.parametrize(
    "hostile",
    [
        '.metadata) | {"kind": "ClusterRoleBinding"} | del(.spec',
        '.metadata)] | [{"kind": "ClusterRoleBinding"}] | [path(.[0]',
        '.kind)] as $p | {"kind": "ClusterRoleBinding"} | [path(.kind',
    ],
)
async def test_text_that_closes_the_parenthesis_can_only_delete(runner: JqRunner, hostile: str) -> None:
    # Spliced into del(...), each returned an object of the tenant's choosing.
    try:
        answer = await runner.delete_paths(hostile, DOC)
    except JqError:
        return
    assert isinstance(answer, dict)
    assert set(answer) <= set(DOC)
    assert all(answer[k] == DOC[k] for k in ("apiVersion", "kind") if k in answer)


async def test_the_worker_does_not_see_the_controller_environment(
    runner: JqRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_PROBE_TOKEN", "s3cr3t")
    # With the variable visible, this would delete the key named by its value.
    answer = await runner.delete_paths(
        '.[$ENV.GITWARD_PROBE_TOKEN // "fallback"]', {"s3cr3t": 1, "fallback": 2}
    )
    assert answer == {"s3cr3t": 1}


async def test_a_rule_that_overruns_names_its_field_and_the_deadline(runner: JqRunner) -> None:
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": [".spec.replicas", "last(range(1e12))"],
            }
        ],
        "spec.ignoreDifferences",
    )
    with pytest.raises(IgnoreRuleError) as caught:
        await apply_rules(rules, DOC, runner=runner)
    message = str(caught.value)
    assert message.startswith("spec.ignoreDifferences[0].jqPathExpressions[1] (apps/Deployment)")
    assert "'last(range(1e12))'" in message and "longer than 0.5s" in message


def test_an_expression_that_does_not_compile_is_refused_when_loaded_naming_its_field() -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        load_rules(
            [{"kind": "ConfigMap"}, {"kind": "Secret", "jqPathExpressions": [".data", ".data["]}],
            "spec.ignoreDifferences",
        )
    message = str(caught.value)
    assert message.startswith("spec.ignoreDifferences[1].jqPathExpressions[1] (Secret)")
    assert "does not compile" in message


def test_an_overlong_expression_is_refused_when_loaded() -> None:
    with pytest.raises(IgnoreRuleError, match="longer than"):
        load_rules([{"kind": "Secret", "jqPathExpressions": [".a" * 5000]}])


async def test_a_slow_expression_holds_one_worker_and_the_others_keep_answering() -> None:
    runner = JqRunner(workers=2, deadline=3)
    try:
        slow = asyncio.ensure_future(runner.delete_paths("last(range(1e12))", DOC))
        answer = await runner.delete_paths(".kind", DOC)
        assert "kind" not in answer
        assert not slow.done()
        with pytest.raises(JqTimeout):
            await slow
    finally:
        runner.close()
