"""The work queue as the controller's workers see it (no cluster needed)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from gitward.controller.queue import Backoff, WorkQueue, run_workers


async def test_a_key_waiting_in_the_queue_is_not_queued_twice() -> None:
    queue = WorkQueue()
    for _ in range(3):
        queue.add("app-a")
    queue.add("app-b")
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["app-a", "app-b"]


async def test_a_key_added_while_handled_is_handled_once_more_afterwards() -> None:
    queue = WorkQueue()
    queue.add("app")
    key = await queue.get()
    queue.add("app")
    queue.add("app")
    assert len(queue) == 0, "never handed to a second worker while the first holds it"
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "app"


async def test_workers_never_handle_one_key_concurrently_and_finish_every_key() -> None:
    queue = WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    handled: list[str] = []

    async def handle(key: str) -> None:
        if key in active:
            overlaps.append(key)
        active.add(key)
        await asyncio.sleep(0.01)
        if len(handled) < 50:
            queue.add(key)  # a watch event arriving mid-reconcile
        handled.append(key)
        active.discard(key)

    for n in range(5):
        queue.add(f"app-{n}")
    workers = asyncio.create_task(run_workers(queue, handle, workers=4))
    while len(handled) < 50:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    queue.shutdown()
    await asyncio.wait_for(workers, 5)
    assert overlaps == []
    assert {f"app-{n}" for n in range(5)} <= set(handled)


async def test_a_failing_key_is_retried_with_growing_backoff_and_reset_on_success() -> None:
    queue = WorkQueue(Backoff(base=0.02, factor=2.0, cap=0.05))
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    async def handle(key: str) -> None:
        attempts.append(loop.time())
        if len(attempts) < 4:
            raise RuntimeError("Git unreachable")

    queue.add("app")
    workers = asyncio.create_task(run_workers(queue, handle, workers=1))
    while len(attempts) < 4:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    queue.shutdown()
    await asyncio.wait_for(workers, 5)
    assert len(attempts) == 4, "a success ends the retries"
    assert queue.failures("app") == 0
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.05


def test_backoff_doubles_from_five_seconds_up_to_three_minutes() -> None:
    backoff = Backoff()
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff.delay(30) == 180.0


async def test_shutdown_releases_every_idle_worker() -> None:
    queue = WorkQueue()

    async def handle(key: str) -> None:
        raise AssertionError("nothing was queued")

    workers = asyncio.create_task(run_workers(queue, handle, workers=3))
    await asyncio.sleep(0.01)
    queue.shutdown()
    await asyncio.wait_for(workers, 5)
    queue.add("late")
    assert len(queue) == 0, "a shut-down queue takes no more work"


async def test_a_dropped_key_loses_its_timer_and_is_never_queued_again() -> None:
    queue = WorkQueue()
    queue.add_after("deleted-app", 0.05)
    queue.add_after("other-app", 0.05)
    queue.drop("deleted-app")
    await asyncio.sleep(0.2)
    assert len(queue) == 1
    assert await queue.get() == "other-app"


async def test_workers_stop_when_cancelled_even_if_a_handler_swallowed_the_cancel() -> None:
    """Python 3.11's wait_for can lose a cancel that races with its inner task; the loop must still end."""
    queue = WorkQueue()
    handled = asyncio.Event()

    async def swallowing(key: str) -> None:
        handled.set()
        # What the race in wait_for does: the cancel never reaches the caller.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        queue.add(key)  # and there is always more work, as with a 1 s poll

    workers = asyncio.create_task(run_workers(queue, swallowing, workers=1))
    queue.add("app")
    await asyncio.wait_for(handled.wait(), timeout=5)
    workers.cancel()
    done, _ = await asyncio.wait({workers}, timeout=5)
    assert workers in done, "the workers kept running after they were cancelled"
    assert workers.cancelled()
