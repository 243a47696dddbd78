"""ignoreDifferences: paths removed from both sides of a comparison before they are compared.

A rule names the objects it covers (group, kind, and optionally name and
namespace) and the paths to drop: JSON pointers (RFC 6901), jq path
expressions, and every field that named field managers own in the live
object's `metadata.managedFields`. Rules are checked when loaded, so a
broken pointer or jq expression is an error naming its field
(`spec.ignoreDifferences[0].jqPathExpressions[1]`) before any comparison
runs.

A jq expression is a tenant's program: it is evaluated by
gitward.engine.diff.jq_runner, in a worker process with a deadline and a memory
cap, and awaited, so the event loop keeps serving every other app while it
runs (and `apply_rules` is a coroutine).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jq  # type: ignore[import-not-found]  # a C extension without stubs; only compiled here, never run

from gitward.engine.diff.jq_runner import JqError, JqRunner, JqStopped, JqTimeout, default_runner
from gitward.engine.trees import object_copy
from gitward.model.application import ResourceIgnoreDifferences
from gitward.model.fields import SpecError
from gitward.model.resource import ResourceKey

# jq's run-time errors quote the data they failed on ('Cannot iterate over string ("hunter2")', or the
# whole value with `error`); only these value-free openings are passed on, so a Secret's value cannot leak.
_SAFE_JQ_ERROR = re.compile(r"^(?:Cannot (?:iterate over|index) \w+(?: with \w+)?|Invalid path expression)")
# A path expression is a line of YAML, not a program: longer text is refused when the rule is loaded.
MAX_EXPRESSION = 2048


class IgnoreRuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the offending entry."""


@dataclass(frozen=True)
class IgnoreRule:
    """One entry of `spec.ignoreDifferences` (its shape is the model's), checked and compiled."""

    spec: ResourceIgnoreDifferences
    # Where the rule was written (`spec.ignoreDifferences[2]`): errors name the field from there.
    where: str = field(default="ignoreDifferences", compare=False)
    _pointers: tuple[tuple[str, ...], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.spec.kind:
            raise IgnoreRuleError(f"{self.label}: kind is required")
        object.__setattr__(
            self, "_pointers", tuple(_parse_pointer(p, self.label) for p in self.spec.json_pointers)
        )
        for index, expression in enumerate(self.spec.jq_path_expressions):
            _compile(expression, self.jq_label(index))

    @property
    def label(self) -> str:
        spec = self.spec
        where = "/".join(p for p in (spec.namespace, spec.name) if p)
        kind = f"{spec.group}/{spec.kind}" if spec.group else spec.kind or "(no kind)"
        return f"{self.where} {kind}{' ' + where if where else ''}"

    def jq_label(self, index: int) -> str:
        """The field of the index-th jq expression, then the objects the rule covers."""
        return f"{self.where}.jqPathExpressions[{index}] ({self.label.removeprefix(self.where + ' ')})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "ignoreDifferences") -> IgnoreRule:
        """A rule from Argo CD's camelCase keys; unknown keys and wrong types are refused, naming `where`."""
        try:
            spec = ResourceIgnoreDifferences.from_dict(data, where)
        except SpecError as problem:
            raise IgnoreRuleError(str(problem)) from None
        return cls(spec, where=where)

    def matches(self, key: ResourceKey) -> bool:
        spec = self.spec
        return (
            spec.group in ("*", key.group)
            and spec.kind in ("*", key.kind)
            and spec.name in ("", key.name)
            and spec.namespace in ("", key.namespace)
        )


def load_rules(
    entries: Iterable[Mapping[str, Any]], where: str = "ignoreDifferences"
) -> tuple[IgnoreRule, ...]:
    """`spec.ignoreDifferences` as rules, each checked; errors name the entry as `where[index]`."""
    return tuple(IgnoreRule.from_dict(e, f"{where}[{i}]") for i, e in enumerate(entries))


async def apply_rules(
    rules: Sequence[IgnoreRule],
    obj: Mapping[str, Any] | None,
    managed_fields: Sequence[Mapping[str, Any]] = (),
    *,
    runner: JqRunner | None = None,
) -> dict[str, Any] | None:
    """A copy of `obj` without every path the rules matching it name.

    `managed_fields` is the live object's `metadata.managedFields`: both
    sides drop what the named managers own there, since only the live side
    says who owns what. jq expressions run in `runner` (default: the
    process's pool); one that fails or overruns its deadline raises
    IgnoreRuleError naming its field.
    """
    if obj is None:
        return None
    key = ResourceKey.of(obj)
    matching = [rule for rule in rules if rule.matches(key)]
    if not matching:
        return dict(obj)  # nothing removed, so nothing nested is touched: no deep copy per comparison
    out = object_copy(obj)
    for rule in matching:
        for pointer in rule._pointers:
            _remove(out, pointer)
        for index, expression in enumerate(rule.spec.jq_path_expressions):
            out = await _run(runner or default_runner(), out, expression, rule.jq_label(index))
        if rule.spec.managed_fields_managers:
            for entry in managed_fields:
                if entry.get("manager") in rule.spec.managed_fields_managers:
                    fields = entry.get("fieldsV1")
                    if isinstance(fields, Mapping):
                        _remove_owned(out, fields)
    return out


def _parse_pointer(pointer: str, label: str) -> tuple[str, ...]:
    if pointer == "":
        raise IgnoreRuleError(f"{label}: JSON pointer '' would ignore the whole object")
    if not pointer.startswith("/"):
        raise IgnoreRuleError(f"{label}: JSON pointer {pointer!r} must start with '/'")
    if re.search(r"~[^01]|~$", pointer):
        raise IgnoreRuleError(f"{label}: JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


def _remove(obj: Any, path: Sequence[str]) -> None:
    """Delete the value at `path` if it exists; a missing path is not an error (rules cover many objects)."""
    parent = obj
    for part in path[:-1]:
        parent = _child(parent, part)
        if parent is None:
            return
    last = path[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]


def _child(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and part.isdigit() and int(part) < len(value):
        return value[int(part)]
    return None


def _compile(expression: str, label: str) -> None:
    """Refuse an expression that does not compile (compiling runs nothing: it is parsed, not evaluated)."""
    if len(expression) > MAX_EXPRESSION:
        raise IgnoreRuleError(f"{label}: jq path expression is longer than {MAX_EXPRESSION} characters")
    try:
        # As the worker compiles it (gitward.engine.diff.jq_worker).
        jq.compile(f"[path({expression})]")
    except ValueError as exc:
        detail = str(exc).splitlines()[0].removeprefix("jq: error: ")
        raise IgnoreRuleError(
            f"{label}: jq path expression {expression!r} does not compile: {detail}"
        ) from None


async def _run(runner: JqRunner, obj: dict[str, Any], expression: str, label: str) -> dict[str, Any]:
    try:
        result = await runner.delete_paths(expression, obj)
    except JqTimeout:
        raise IgnoreRuleError(
            f"{label}: jq path expression {expression!r} was stopped: it ran longer than "
            f"{runner.deadline:g}s (a path expression should take microseconds)"
        ) from None
    except JqStopped as exc:
        raise IgnoreRuleError(f"{label}: jq path expression {expression!r} was stopped: {exc}") from None
    except JqError as exc:
        found = _SAFE_JQ_ERROR.match(str(exc))
        detail = found.group(0) if found else "jq's message is withheld: it may quote the object's data"
        raise IgnoreRuleError(f"{label}: jq path expression {expression!r} failed: {detail}") from None
    if not isinstance(result, dict):
        raise IgnoreRuleError(f"{label}: jq path expression {expression!r} did not leave an object")
    return result


def _remove_owned(obj: Any, fields: Mapping[str, Any]) -> None:
    """Delete from `obj` what a fieldsV1 set names.

    `f:name` is a field, `k:{json}` the list item whose keys equal the json,
    `v:json` the set item equal to the json; `.` marks the node itself.
    A leaf (or a node owned only as a whole) goes entirely; otherwise only
    the owned children go, since a map's `.` says little more than that the
    manager set one of its keys. A list item the manager created (`.`
    among its children) goes entirely: it is that manager's addition.
    """
    for selector, children in fields.items():
        if selector == ".":
            continue
        sub = children if isinstance(children, Mapping) else {}
        whole = not (set(sub) - {"."})
        if selector.startswith("f:") and isinstance(obj, dict):
            name = selector[2:]
            if name not in obj:
                continue
            if whole:
                del obj[name]
            else:
                _remove_owned(obj[name], sub)
        elif selector.startswith(("k:", "v:")) and isinstance(obj, list):
            try:
                wanted = json.loads(selector[2:])
            except ValueError:
                continue
            for index in reversed(range(len(obj))):
                item = obj[index]
                if not _selected(item, selector[0], wanted):
                    continue
                if whole or "." in sub or selector[0] == "v":
                    del obj[index]
                else:
                    _remove_owned(item, sub)
        elif selector.startswith("i:") and isinstance(obj, list) and selector[2:].isdigit():
            index = int(selector[2:])
            if index < len(obj):
                if whole:
                    del obj[index]
                else:
                    _remove_owned(obj[index], sub)


def _selected(item: Any, how: str, wanted: Any) -> bool:
    if how == "v":
        return bool(item == wanted)
    return (
        isinstance(item, dict)
        and isinstance(wanted, dict)
        and all(item.get(k) == v for k, v in wanted.items())
    )
