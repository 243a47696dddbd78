"""User-defined health rules: CEL expressions per group and kind.

A rule has up to three boolean expressions, `degraded`, `progressing` and
`healthy`, tried in that order against the variable `object` (the whole
object); the first that is true gives the status. A failure is checked first
so that a rollout that is both moving and broken fails fast. When none
matches, the object is Progressing: a just-created resource often has no
status yet, and that is not a failure. An optional `message` expression
gives the message.

Expressions are compiled when rules are loaded, so a typo is reported once,
naming the rule, and never at sync time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cel

from gitward.model.health import Health, HealthStatus

_VERDICTS = (
    ("degraded", HealthStatus.degraded),
    ("progressing", HealthStatus.progressing),
    ("healthy", HealthStatus.healthy),
)
_KEYS = {"group", "kind", "healthy", "progressing", "degraded", "message"}


class HealthRuleError(ValueError):
    """A rule that cannot be loaded or evaluated; the message names the rule."""


@dataclass(frozen=True)
class HealthRule:
    group: str
    kind: str
    expressions: Mapping[str, str]
    _programs: dict[str, cel.Program] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.group}/{self.kind}" if self.group else self.kind

    @classmethod
    def compile(cls, group: str, kind: str, expressions: Mapping[str, str]) -> HealthRule:
        rule = cls(group, kind, dict(expressions))
        if not any(key in expressions for key, _ in _VERDICTS):
            raise HealthRuleError(
                f"health rule {rule.name}: needs at least one of healthy, progressing, degraded"
            )
        for key, source in expressions.items():
            try:
                rule._programs[key] = cel.compile(source)
            except (ValueError, RuntimeError) as exc:
                raise HealthRuleError(f"health rule {rule.name}, {key}: {_first_line(exc)}") from exc
        return rule

    def evaluate(self, obj: Mapping[str, Any]) -> Health:
        # One context for all expressions: the binding converts the object once per context, and
        # managedFields (often most of an object's size) are left out; no health depends on them.
        visible = dict(obj)
        metadata = visible.get("metadata")
        if isinstance(metadata, Mapping) and "managedFields" in metadata:
            visible["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
        context = cel.Context(variables={"object": visible})
        for key, status in _VERDICTS:
            if key in self._programs and self._run(key, context) is True:
                return Health(status, self._message(context))
        return Health(HealthStatus.progressing, self._message(context) or "No health expression matched yet")

    def _run(self, key: str, context: cel.Context) -> object:
        try:
            result = self._programs[key].execute(context)
        except KeyError:
            # A field the object does not have yet (no status before the first reconcile) is "not true".
            return False
        except (ValueError, RuntimeError, TypeError) as exc:
            raise HealthRuleError(f"health rule {self.name}, {key}: {_first_line(exc)}") from exc
        if key != "message" and not isinstance(result, bool):
            raise HealthRuleError(
                f"health rule {self.name}, {key}: must give true or false, gave {type(result).__name__}"
            )
        return result

    def _message(self, context: cel.Context) -> str:
        if "message" not in self._programs:
            return ""
        message = self._run("message", context)
        return message if isinstance(message, str) else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class HealthRules:
    """Rules by (group, kind); a rule here wins over the built-in rule for that kind."""

    by_kind: Mapping[tuple[str, str], HealthRule] = field(default_factory=dict)

    def get(self, group: str, kind: str) -> HealthRule | None:
        return self.by_kind.get((group, kind))

    @classmethod
    def load(cls, data: object) -> HealthRules:
        """Read `[{group, kind, healthy?, progressing?, degraded?, message?}, ...]` or `{rules: [...]}`."""
        if isinstance(data, Mapping) and set(data) == {"rules"}:
            data = data["rules"]
        if not isinstance(data, list):
            raise HealthRuleError("health rules: expected a list of rules (or a mapping with `rules:`)")
        rules: dict[tuple[str, str], HealthRule] = {}
        for index, item in enumerate(data):
            rule = _rule_from(item, index)
            if (rule.group, rule.kind) in rules:
                raise HealthRuleError(f"health rules[{index}]: a second rule for {rule.name}")
            rules[(rule.group, rule.kind)] = rule
        return cls(rules)

    @classmethod
    def of(cls, rules: Iterable[HealthRule]) -> HealthRules:
        return cls({(r.group, r.kind): r for r in rules})


def _rule_from(item: object, index: int) -> HealthRule:
    where = f"health rules[{index}]"
    if not isinstance(item, Mapping):
        raise HealthRuleError(f"{where}: expected a mapping")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise HealthRuleError(f"{where}: unknown keys {', '.join(map(str, unknown))}")
    group, kind = item.get("group", ""), item.get("kind")
    if not isinstance(kind, str) or not kind:
        raise HealthRuleError(f"{where}.kind: required")
    if not isinstance(group, str):
        raise HealthRuleError(f"{where}.group: must be a string")
    expressions: dict[str, str] = {}
    for key in ("healthy", "progressing", "degraded", "message"):
        if key in item:
            value = item[key]
            if not isinstance(value, str) or not value.strip():
                raise HealthRuleError(f"{where}.{key}: must be a non-empty CEL expression")
            expressions[key] = value
    return HealthRule.compile(group, kind, expressions)
