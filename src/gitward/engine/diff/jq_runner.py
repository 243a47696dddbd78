"""jq path expressions evaluated in worker processes: off the event loop, with a deadline and a memory cap.

An `ignoreDifferences` jq expression is a tenant's program. Run in the
controller, `last(range(1e12))` would hold the GIL (jq is C) until it
finished, starving lease renewal and every other app. So each evaluation is
sent to a small pool of worker processes (gitward.engine.diff.jq_worker), and
the caller awaits it without blocking the loop:

- a deadline per evaluation: a worker that overruns it is killed and
  replaced (a C call in a thread could not be stopped), and the expression
  is refused without running for a while, so one bad rule costs one
  deadline per object at most once per `REFUSE_FOR` rather than at every
  comparison;
- a memory cap per worker (RLIMIT_AS, set in the worker), and a cap on the
  size of its answer;
- workers live as long as the runner and keep their compiled programs, so
  an evaluation costs a round trip through a pipe, not a process start.

Each executor thread owns one worker; the executor's size is the pool's.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gitward.engine.diff.jq_worker import MEMORY_ENV

DEADLINE = 1.0
WORKERS = 2
MEMORY = 512 * 1024 * 1024
# An answer deletes from its input, so it is never much larger; the margin covers jq's formatting.
ANSWER_FACTOR = 2
ANSWER_MARGIN = 1024 * 1024
REFUSE_FOR = 300.0
_STARTUP = 30.0  # a cold worker start on a loaded machine (imports), not counted in the deadline
_REMEMBERED = 1024
_PASSED_ENV = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TMPDIR")


class JqError(Exception):
    """An evaluation that gave no document. The message is jq's own and may quote the data."""


class JqStopped(JqError):
    """The worker was stopped or died (memory cap, an answer too large); the message is ours."""


class JqTimeout(JqStopped):
    """The evaluation overran its deadline (now or recently) and was stopped."""


class _Worker:
    def __init__(self, memory: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gitward.engine.diff.jq_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # Not the controller's environment: it may hold credentials, and jq can read it (`env`).
            env={**{k: os.environ[k] for k in _PASSED_ENV if k in os.environ}, MEMORY_ENV: str(memory)},
        )
        self.ready = False

    def ask(self, expression: str, document: bytes, seconds: float, max_answer: int) -> bytes:
        """The answer frame; raises JqTimeout after `seconds`, JqError if the worker died."""
        stdin = self.process.stdin
        assert stdin is not None  # noqa: S101  # created with PIPE
        if not self.ready:
            # The worker says so once it is up: its start-up is not charged to the first expression.
            try:
                self._frame(time.monotonic() + _STARTUP, 16)
            except JqTimeout:
                raise JqStopped("the jq worker did not start") from None
            self.ready = True
        deadline = time.monotonic() + seconds
        encoded = expression.encode()
        try:
            stdin.write(
                b"".join((len(encoded).to_bytes(4, "big"), encoded, len(document).to_bytes(4, "big")))
            )
            stdin.write(document)
            stdin.flush()
        except OSError:
            raise JqStopped("the jq worker stopped") from None
        return self._frame(deadline, max_answer)

    def _frame(self, deadline: float, max_size: int) -> bytes:
        header = self._exactly(4, deadline)
        size = int.from_bytes(header, "big")
        if size > max_size:
            raise JqStopped(f"the result is larger than {max_size} bytes")
        return self._exactly(size, deadline)

    def _exactly(self, size: int, deadline: float) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None  # noqa: S101  # created with PIPE
        fd = stdout.fileno()
        chunks: list[bytes] = []
        wanted = size
        while wanted:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise JqTimeout("the jq expression ran past its deadline")
            chunk = os.read(fd, min(wanted, 1 << 20))
            if not chunk:
                raise JqStopped("it ran out of memory (or its worker crashed)")
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class JqRunner:
    """A pool of jq workers; `delete_paths` is safe to await from any event loop."""

    def __init__(self, *, workers: int = WORKERS, deadline: float = DEADLINE, memory: int = MEMORY) -> None:
        self.deadline = deadline
        self.memory = memory
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jq")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()
        self._refused: OrderedDict[str, float] = OrderedDict()
        self.evaluations = 0
        self.timeouts = 0

    async def delete_paths(self, expression: str, document: Mapping[str, Any]) -> Any:
        """`document` without the paths `expression` selects (jq's `del(EXPR)`); raises JqError."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._evaluate, expression, document)

    def _evaluate(self, expression: str, document: Mapping[str, Any]) -> Any:
        with self._lock:
            until = self._refused.get(expression)
        if until is not None and time.monotonic() < until:
            raise JqTimeout("the jq expression ran past its deadline recently; not run again yet")
        encoded = json.dumps(document, separators=(",", ":")).encode()
        worker = self._worker()
        self.evaluations += 1
        try:
            answer = worker.ask(
                expression,
                encoded,
                self.deadline,
                len(encoded) * ANSWER_FACTOR + ANSWER_MARGIN,
            )
        except JqStopped as problem:
            self._drop(worker)
            if isinstance(problem, JqTimeout):
                self.timeouts += 1
                with self._lock:
                    self._refused[expression] = time.monotonic() + REFUSE_FOR
                    while len(self._refused) > _REMEMBERED:
                        self._refused.popitem(last=False)
            raise
        if answer[:1] == b"o":
            return json.loads(answer[1:])
        raise JqError(answer[1:].decode(errors="replace"))

    def _worker(self) -> _Worker:
        worker: _Worker | None = getattr(self._local, "worker", None)
        if worker is None or worker.process.poll() is not None:
            if worker is not None:
                self._drop(worker)
            try:
                worker = _Worker(self.memory)
            except OSError as problem:
                raise JqStopped(f"could not start a jq worker: {problem.strerror}") from None
            self._local.worker = worker
            with self._lock:
                self._workers.add(worker)
        return worker

    def _drop(self, worker: _Worker) -> None:
        """Kill and forget a worker: the next evaluation on this thread starts a fresh one."""
        if getattr(self._local, "worker", None) is worker:
            self._local.worker = None
        with self._lock:
            self._workers.discard(worker)
        worker.stop()

    def close(self) -> None:
        """Stop every worker (each would also exit when the controller's end of its pipe closes)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            workers, self._workers = list(self._workers), set()
        for worker in workers:
            worker.stop()


_default: JqRunner | None = None
_default_lock = threading.Lock()


def default_runner() -> JqRunner:
    """The process's pool, started on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = JqRunner()
        return _default
