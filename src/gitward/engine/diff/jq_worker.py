"""The process that evaluates ignoreDifferences jq path expressions (`-m gitward.engine.diff.jq_worker`).

jq runs in C: a call cannot be interrupted, holds the GIL and can take all
the memory it likes. So it never runs in the controller's process; it runs
here, one request at a time, and gitward.engine.diff.jq_runner kills this
process when a request outlives its deadline. The address space is capped
(RLIMIT_AS) before the first request, so `[range(1e9)]` ends in a failed
allocation here instead of swapping the node.

An expression only chooses paths: it is evaluated as `[path(EXPR)]`, the
answer must be a list of paths, and those are deleted from the input by a
fixed program. A tenant's text spliced into `del(...)` could close the
parenthesis and return any object it likes (which a RespectIgnoreDifferences
sync would then apply); here the worst it can do is delete paths.

Frames on stdin and stdout: a 4-byte big-endian length, then the bytes.
A request is two frames (the expression, the input document as JSON); an
answer is one frame: `o` + the resulting document as JSON, or `e` + a
message.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from collections import OrderedDict
from typing import Any, BinaryIO

import jq  # type: ignore[import-not-found]  # a C extension without stubs

MEMORY_ENV = "GITWARD_JQ_MEMORY"
MAX_PATHS = 100_000
_CACHED = 256
_HEADER = struct.Struct(">I")
# The deletion is ours, fixed: an expression cannot change it.
_DELETE = jq.compile(". as [$paths, $doc] | $doc | delpaths($paths)")


def read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


class _Programs:
    """Compiled path programs, by expression: a rule is compiled once per worker, not per object."""

    def __init__(self) -> None:
        self._programs: OrderedDict[str, Any] = OrderedDict()

    def get(self, expression: str) -> Any:
        program = self._programs.get(expression)
        if program is None:
            program = jq.compile(f"[path({expression})]")
            self._programs[expression] = program
            if len(self._programs) > _CACHED:
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(expression)
        return program


def evaluate(programs: _Programs, expression: str, document: str) -> bytes:
    """The answer frame for one request."""
    try:
        try:
            paths = programs.get(expression).input_text(document).first()
        except StopIteration:
            paths = []
        if not isinstance(paths, list) or not all(isinstance(p, list) for p in paths):
            return b"edid not select paths"
        if len(paths) > MAX_PATHS:
            return f"eselected more than {MAX_PATHS} paths".encode()
        framed = "[" + json.dumps(paths, separators=(",", ":")) + "," + document + "]"
        kept: str = _DELETE.input_text(framed).text()
        return b"o" + kept.encode()
    except MemoryError:
        return b"eran out of memory"
    except ValueError as problem:
        return b"e" + str(problem).encode(errors="replace")


def _limit_memory() -> None:
    limit = int(os.environ.get(MEMORY_ENV) or 0)
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    _limit_memory()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    programs = _Programs()
    write_frame(stdout, b"ready")
    while True:
        expression = read_frame(stdin)
        document = read_frame(stdin)
        if expression is None or document is None:
            return  # the controller closed the pipe (or went away): nothing more to do
        write_frame(stdout, evaluate(programs, expression.decode(), document.decode()))


if __name__ == "__main__":
    main()
