"""The render cache: what an unchanged (repository, commit, path, source spec) rendered to last time.

Entries are stored as compact JSON text, not as the objects: every caller gets
its own fresh objects (one caller's edits can never reach another), the size
of an entry is known (the cache is bounded in bytes, least recently used
first out), and a cold render returns exactly what a warm one will, since
both come from the same text. Validation failures are cached too: the same
inputs give the same problems, and a broken commit must not cost a helm run
on every reconcile. Timeouts and unavailable tools are never cached.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gitward.render.problems import Problem, ValidationFailed

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RenderKey:
    """What decides a render's output. `inputs` covers everything besides the source's own tree:
    app name and namespace, the commits of `$ref` sources, the binaries and the settings."""

    repo_url: str
    revision: str  # a commit SHA, or a chart version
    path: str
    spec: str  # ApplicationSource.fingerprint()
    inputs: str


@dataclass(frozen=True)
class _Entry:
    text: str
    failed: bool


class RenderCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[RenderKey, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: RenderKey) -> list[dict[str, Any]] | None:
        """A fresh copy of the objects, None on a miss; raises the cached ValidationFailed."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        if entry.failed:
            raise ValidationFailed(Problem(*p) for p in json.loads(entry.text))
        objects: list[dict[str, Any]] = json.loads(entry.text)
        return objects

    def put(self, key: RenderKey, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store, and return the objects as every later hit will see them."""
        text = json.dumps(objects, separators=(",", ":"), ensure_ascii=False)
        self._store(key, _Entry(text, failed=False))
        fresh: list[dict[str, Any]] = json.loads(text)
        return fresh

    def put_failure(self, key: RenderKey, failure: ValidationFailed) -> None:
        text = json.dumps([[p.file, p.line, p.column, p.message] for p in failure.problems])
        self._store(key, _Entry(text, failed=True))

    def discard(self, repo_url: str, revision: str) -> int:
        """Forget what one commit (or chart version) of a repository rendered to: a hard refresh."""
        with self._lock:
            keys = [k for k in self._entries if k.repo_url == repo_url and k.revision == revision]
            for key in keys:
                self._bytes -= len(self._entries.pop(key).text)
        return len(keys)

    def _store(self, key: RenderKey, entry: _Entry) -> None:
        size = len(entry.text)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.text)
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.text)
