"""Desired vs live: is each object in sync, and if not, what would a sync change?

The prediction is the apiserver's own: a server-side apply dry run of the
desired object (force, as a sync would take fields back from a `kubectl
edit`). Defaults, admission webhooks, quantity canonicalisation ("1" CPU
and "1000m" are one value) and merge keys are applied exactly as a real
apply would apply them, so none of them shows as drift. Fields that other
managers own and the desired object does not mention stay in the
prediction: a sync would keep them too.

Dry runs are cached by (live uid, live resourceVersion, hash of the desired
object): while neither side changes, comparing again sends no request.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gitward.engine import options as sync_options
from gitward.engine import tracking
from gitward.engine.diff import client_apply
from gitward.engine.diff.ignore import IgnoreRule, IgnoreRuleError, apply_rules
from gitward.engine.diff.normalize import SERVER_METADATA, desired_hash, normalize, unified
from gitward.engine.trees import object_copy
from gitward.kube import Discovery, KubeError, UnknownKind, WatchCache, Writer
from gitward.model.resource import ResourceKey
from gitward.model.status import SyncStatusCode
from gitward.model.sync import SyncOptions, SyncSpecError

CacheKey = tuple[str, str, str]
STALE_RETRIES = 5


@dataclass(frozen=True)
class Comparison:
    """The verdict for one desired object; `diff` is a unified YAML diff with Secret values masked."""

    key: ResourceKey
    status: SyncStatusCode | None  # None when the comparison failed
    diff: str = ""
    would_create: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.key.as_dict(),
            "status": str(self.status) if self.status else None,
            "wouldCreate": self.would_create,
            "diff": self.diff,
            "error": self.error,
        }


class LiveSource(Protocol):
    """Where the live copy of a desired object comes from (None: it does not exist)."""

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None: ...


class ClusterLive:
    """One GET per object: for a one-shot command, cheaper than watching whole kinds."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None:
        key = ResourceKey.of(desired)
        return await self.writer.get(str(desired.get("apiVersion")), key.kind, key.name, key.namespace)


class WatchedLive:
    """The watch cache's copy: no request per comparison once the kind is watched.

    With `written` (a Writer's record of its own writes), a copy older than
    our own last write of that object is waited for, up to `wait` seconds:
    the comparison right after a sync then sees what the sync wrote instead
    of calling a just-created object missing (and writing OutOfSync, to be
    corrected by a later pass).
    """

    def __init__(
        self, cache: WatchCache, written: dict[ResourceKey, int] | None = None, wait: float = 2.0
    ) -> None:
        self.cache = cache
        self.written = written
        self.wait = wait

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None:
        await self.cache.ensure(str(desired.get("apiVersion")), str(desired.get("kind")))
        key = ResourceKey.of(desired)
        if self.written is not None and (version := self.written.get(key)) is not None:
            caught_up = await self.cache.store.caught_up(key, version, self.wait)
            if caught_up and self.written.get(key) == version:
                del self.written[key]  # the watch has shown it: later reads need not wait
        return self.cache.store.get(key)


class Comparer:
    """Compares desired objects with the cluster; one per cluster, shared by every app on it.

    `dry_runs` counts the dry runs it sent, `refetches` the GETs of a live
    copy found stale, and `cache_hits` the dry runs it did not need, so
    callers (and tests) can see what a comparison cost.
    """

    def __init__(
        self,
        writer: Writer,
        live: LiveSource,
        *,
        concurrency: int = 20,
        cache_size: int = 20_000,
        dry_run_creates: bool = True,
        diffs: bool = True,
    ) -> None:
        self.writer = writer
        self.live = live
        # False: an OutOfSync comparison carries no diff text (a controller reports only the verdict;
        # rendering two YAML documents per changed object was a tenth of its CPU at a cold start).
        self.diffs = diffs
        # False: an object that does not exist yet is OutOfSync without asking the server what it
        # would become (a controller's sync dry-runs it anyway before creating it).
        self.dry_run_creates = dry_run_creates
        self.dry_runs = 0
        self.cache_hits = 0
        self.refetches = 0
        self._limit = asyncio.Semaphore(concurrency)
        self._cache: OrderedDict[CacheKey, Mapping[str, Any]] = OrderedDict()
        self._cache_size = cache_size

    async def compare_all(
        self,
        desired: Iterable[Mapping[str, Any]],
        rules: Sequence[IgnoreRule] = (),
        app: str | None = None,
        options: SyncOptions | None = None,
    ) -> list[Comparison]:
        """Every object compared, concurrently; with `app`, each is stamped with its tracking id first.

        `options` (the app's syncOptions) and each object's annotation say whether it is applied
        client-side (ServerSideApply=false), which changes what a sync would remove.
        """
        objects = [tracking.stamp(obj, app) if app is not None else obj for obj in desired]
        pending = defined_kinds(objects)
        app_options = options if options is not None else SyncOptions()
        return list(
            await asyncio.gather(
                *(
                    self.compare(obj, rules, pending, client_side=_client_side(obj, app_options))
                    for obj in objects
                )
            )
        )

    async def compare(
        self,
        desired: Mapping[str, Any],
        rules: Sequence[IgnoreRule] = (),
        pending_kinds: frozenset[tuple[str, str]] = frozenset(),
        *,
        client_side: bool = False,
    ) -> Comparison:
        """One object. `pending_kinds` are (group, kind) pairs a CRD in the same set is about to define.

        `client_side`: predict a client-side apply (ServerSideApply=false) instead of a server-side one.
        """
        key = ResourceKey.of(desired)
        async with self._limit:
            try:
                return await self._compare(key, desired, rules, client_side)
            except UnknownKind as exc:
                if (key.group, key.kind) in pending_kinds:
                    # Its CRD is part of the same sync: it cannot be dry-run yet, only created.
                    return await self._verdict(key, desired, None, rules)
                return Comparison(key, None, error=str(exc))
            except (KubeError, IgnoreRuleError) as exc:
                return Comparison(key, None, error=str(exc))

    async def _compare(
        self, key: ResourceKey, desired: Mapping[str, Any], rules: Sequence[IgnoreRule], client_side: bool
    ) -> Comparison:
        live = await self.live.get(desired)
        if live is None:
            return await self._would_create(key, desired, rules)
        if client_side:
            # Its own prediction, cached apart: the same manifest may be compared both ways.
            desired = client_apply.with_last_applied(desired)
        cached = self._cached(desired, live)
        if cached is not None:
            return await self._verdict(key, cached, live, rules)
        predicted = await self._dry_run(desired, live if client_side else None)
        for _ in range(STALE_RETRIES):
            if _version(predicted) == _version(live):
                self._remember(desired, live, predicted)
                return await self._verdict(key, predicted, live, rules)
            # The dry run started from another version than our copy (a controller wrote in between,
            # or the watch is behind): compared with it, that write would look like drift. Fetch the
            # current copy; only if it moved on again is another dry run needed.
            self.refetches += 1
            live = await self.writer.get(str(desired.get("apiVersion")), key.kind, key.name, key.namespace)
            if live is None:
                return await self._would_create(key, desired, rules)
            if (cached := self._cached(desired, live)) is not None:
                return await self._verdict(key, cached, live, rules)
            if _version(predicted) != _version(live):
                predicted = await self._dry_run(desired, live if client_side else None)
        raise KubeError(0, "Conflict", f"{key}: kept changing while being compared; try again")

    async def _would_create(
        self, key: ResourceKey, desired: Mapping[str, Any], rules: Sequence[IgnoreRule]
    ) -> Comparison:
        if not self.dry_run_creates:
            return await self._verdict(key, desired, None, rules)
        try:
            predicted: Mapping[str, Any] = await self._dry_run(desired)
        except KubeError as exc:
            # A namespace the sync itself will create (CreateNamespace, or an earlier wave).
            if not exc.not_found:
                raise
            predicted = desired
        return await self._verdict(key, predicted, None, rules)

    def _cached(self, desired: Mapping[str, Any], live: Mapping[str, Any]) -> Mapping[str, Any] | None:
        cache_key = _cache_key(desired, live)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            self.cache_hits += 1
        return cached

    async def _verdict(
        self,
        key: ResourceKey,
        predicted: Mapping[str, Any],
        live: Mapping[str, Any] | None,
        rules: Sequence[IgnoreRule],
    ) -> Comparison:
        return await _verdict(key, predicted, live, rules, diff=self.diffs)

    def applied(self, desired: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        """A server-side apply's answer is what a dry run at its version predicts: the next
        comparison of the same object at that version needs no request."""
        self._remember(desired, stored, stored)

    def _remember(
        self, desired: Mapping[str, Any], live: Mapping[str, Any], predicted: Mapping[str, Any]
    ) -> None:
        """Keep a prediction under the very version it was made from (never a neighbour's)."""
        cache_key = _cache_key(desired, live)
        self._cache[cache_key] = _slim(predicted)
        self._cache.move_to_end(cache_key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _dry_run(
        self, desired: Mapping[str, Any], live: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """A server-side apply's; with `live`, the client-side apply's patch of it."""
        if live is not None:
            patch = client_apply.patch_for(desired, live)
            if not patch:
                return live  # nothing to send: the live object is the prediction, at its own version
            self.dry_runs += 1
            return await self.writer.merge_patch(desired, patch, dry_run=True)
        self.dry_runs += 1
        return await self.writer.apply(desired, force=True, dry_run=True)


def _client_side(obj: Mapping[str, Any], app_options: SyncOptions) -> bool:
    try:
        return not sync_options.effective(app_options, obj).server_side_apply
    except SyncSpecError:
        return False  # an unreadable annotation: the sync refuses it and says why; compare as by default


def _cache_key(desired: Mapping[str, Any], live: Mapping[str, Any]) -> CacheKey:
    return (str((live.get("metadata") or {}).get("uid")), _spec_version(live), desired_hash(desired))


def _spec_version(live: Mapping[str, Any]) -> str:
    """What a prediction depends on: the resourceVersion, or less where the server lets us.

    A Deployment's or custom resource's status changes all the time (every
    rollout step, every probe) and moves its resourceVersion each time, while
    a prediction ignores status. For an object of spec, status and metadata
    whose generation counts its spec changes, the generation plus its
    metadata and its field owners (minus their timestamps and the status
    writers) say everything the prediction saw; so a rollout does not cost a
    dry run per status write.
    """
    metadata = live.get("metadata") or {}
    generation = metadata.get("generation")
    if not generation or "status" not in live or set(live) - _SPEC_STATUS:
        return _version(live)
    owners = [
        {k: v for k, v in entry.items() if k != "time"}
        for entry in metadata.get("managedFields") or []
        if isinstance(entry, Mapping) and entry.get("subresource") != "status"
    ]
    rest = {k: v for k, v in metadata.items() if k not in SERVER_METADATA}
    return f"g{generation}:{desired_hash({'metadata': rest, 'owners': owners})}"


_SPEC_STATUS = frozenset(("apiVersion", "kind", "metadata", "spec", "status"))


def _slim(predicted: Mapping[str, Any]) -> dict[str, Any]:
    """A prediction as the comparison reads it: without status and field owners, a third of its size."""
    slim = {k: v for k, v in predicted.items() if k != "status"}
    metadata = slim.get("metadata")
    if isinstance(metadata, Mapping):
        slim["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return slim


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


async def _verdict(
    key: ResourceKey,
    predicted: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    rules: Sequence[IgnoreRule],
    *,
    diff: bool = True,
) -> Comparison:
    # Who owns what is known only from the live object; the prediction's managedFields claim it all for us.
    managed = (live or {}).get("metadata", {}).get("managedFields") or []
    # jq rules run in worker processes (gitward.engine.diff.jq_runner): awaited, never on the loop itself.
    want = await apply_rules(rules, normalize(predicted), managed)
    have = await apply_rules(rules, normalize(live), managed) if live is not None else None
    if want == have:
        return Comparison(key, SyncStatusCode.synced)
    text = unified(want, have, str(key)) if diff else ""
    return Comparison(key, SyncStatusCode.out_of_sync, text, would_create=live is None)


def defined_kinds(objects: Iterable[Mapping[str, Any]]) -> frozenset[tuple[str, str]]:
    """(group, kind) of each kind a CustomResourceDefinition among `objects` defines: objects of
    those kinds cannot be dry-run before the CRD is applied, and are not refused for it."""
    found = set()
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            if isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str):
                found.add((spec["group"], names["kind"]))
    return frozenset(found)


async def with_namespace(
    objects: Sequence[Mapping[str, Any]], namespace: str, discovery: Discovery
) -> list[dict[str, Any]]:
    """Copies with `namespace` set on namespaced objects that name none (what `kubectl apply -n` does).

    A kind the cluster does not serve yet takes its scope from a CRD in the
    same set; a kind nobody defines is left alone and its comparison
    reports it.
    """
    scopes = {
        (str(o["spec"].get("group")), str((o["spec"].get("names") or {}).get("kind"))): o["spec"].get("scope")
        for o in objects
        if o.get("kind") == "CustomResourceDefinition" and isinstance(o.get("spec"), Mapping)
    }
    out = []
    for obj in objects:
        copied = object_copy(obj)
        metadata = copied.setdefault("metadata", {})
        if namespace and isinstance(metadata, dict) and not metadata.get("namespace"):
            key = ResourceKey.of(copied)
            try:
                resource = await discovery.resolve(str(copied.get("apiVersion")), key.kind)
                namespaced = resource.namespaced
            except UnknownKind:
                namespaced = scopes.get((key.group, key.kind)) == "Namespaced"
            if namespaced:
                metadata["namespace"] = namespace
        out.append(copied)
    return out
