"""One description per field drives reading, writing and the CRD schema of the API types.

The Application and AppProject types have dozens of small records. Writing a
`from_dict`, a `to_dict` and a schema by hand for each would let the three
drift apart; instead each record is a frozen dataclass whose type hints (and
an optional `key(...)` in the field's metadata) are read here, and by
`gitward.install.openapi` for the CRD, so a field added to a record is
accepted, written and validated by the API server in one edit.

A field whose value needs more than its type says (a name that reaches a
command line, a glob, an int-or-string) names a `check` or a `parse` in its
`key(...)`, so its rule sits beside its declaration and the message still names
the field's path.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from gitward.model.fields import SpecError, check_keys, mapping, type_name

# Field names that camelCase does not spell the way Argo CD's JSON does.
_JSON_NAMES = {"repo_url": "repoURL", "key_id": "keyID"}
EXTRA = "extra"

# (value, where it sits) -> the value to keep, or SpecError naming `where`.
Check = Callable[[Any, str], Any]


def json_name(attr: str) -> str:
    if attr in _JSON_NAMES:
        return _JSON_NAMES[attr]
    head, *rest = attr.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def key(
    *,
    json: str | None = None,
    minimum: int | None = None,
    pattern: str | None = None,
    doc: str = "",
    parse: Check | None = None,
    schema: dict[str, Any] | None = None,
    check: Check | None = None,
    always: bool = False,
) -> dict[str, Any]:
    """Metadata for `dataclasses.field`: a JSON name camelCase cannot derive, bounds, a description.

    A `pattern` is a regular expression both Python's `re` and the API server's RE2 read alike.
    `parse` reads the JSON value instead of the type hint (for what the hint cannot say, an
    int-or-string), and `schema` is then what the CRD says of it; `check` refuses or normalises the
    typed value. Neither `parse` nor `check` sees an absent field.
    `always`: written even at its default, as Argo CD writes it.
    """
    return {
        "json": json,
        "minimum": minimum,
        "pattern": pattern,
        "doc": doc,
        "parse": parse,
        "schema": schema,
        "check": check,
        "always": always,
    }


def each(check: Check) -> Check:
    """`check` for every item of a list field, each named by its index."""

    def check_items(values: tuple[Any, ...], where: str) -> tuple[Any, ...]:
        return tuple(check(value, f"{where}[{i}]") for i, value in enumerate(values))

    return check_items


@dataclass(frozen=True)
class FieldInfo:
    attr: str
    json: str
    hint: Any
    required: bool
    default: Any
    minimum: int | None
    pattern: str | None
    doc: str
    parse: Check | None
    schema: dict[str, Any] | None
    check: Check | None
    always: bool


_NO_DEFAULT = object()


_INFOS: dict[type, tuple[FieldInfo, ...]] = {}


def field_infos(cls: type) -> tuple[FieldInfo, ...]:
    """The JSON fields of a record's dataclass."""
    cached = _INFOS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    infos = []
    for f in dataclasses.fields(cls):
        if f.name == EXTRA:
            continue
        meta = f.metadata
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _NO_DEFAULT
        infos.append(
            FieldInfo(
                attr=f.name,
                json=meta.get("json") or json_name(f.name),
                hint=hints[f.name],
                required=default is _NO_DEFAULT,
                default=None if default is _NO_DEFAULT else default,
                minimum=meta.get("minimum"),
                pattern=meta.get("pattern"),
                doc=meta.get("doc", ""),
                parse=meta.get("parse"),
                schema=meta.get("schema"),
                check=meta.get("check"),
                always=meta.get("always", False),
            )
        )
    _INFOS[cls] = tuple(infos)
    return _INFOS[cls]


class Record:
    """Base of the API records: `from_dict` refuses what the schema would, `to_dict` omits defaults.

    `OPEN` records (status parts, where Argo CD writes more than gitward
    reads) keep unknown keys in their `extra` field instead of refusing them,
    and write them back unchanged.
    """

    OPEN: ClassVar[bool] = False
    # (CEL expression over `self`, message): the API server's form of what `check` refuses, put in the
    # CRD so that `kubectl apply` refuses it too. Plain strings here; only the install reads them.
    RULES: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def from_dict(cls, data: object, where: str = "") -> Self:
        return read(cls, data, where)

    def to_dict(self) -> dict[str, Any]:
        return write(self)

    def check(self, where: str) -> None:
        """Rules across fields, raising SpecError; the types are already checked when this runs."""


_R = TypeVar("_R", bound=Record)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def read(cls: type[_R], data: object, where: str) -> _R:
    d = mapping(data, where or "(top level)")
    infos = field_infos(cls)
    known = frozenset(i.json for i in infos)
    if not cls.OPEN:
        check_keys(d, known, where or "(top level)")
    kwargs: dict[str, Any] = {}
    for info in infos:
        path = _join(where, info.json)
        value = d.get(info.json)
        # A null is an absent field, as the API server treats it.
        if value is None:
            if info.required:
                raise SpecError(f"{path}: required")
            continue
        parsed = read_value(info.hint, value, path) if info.parse is None else info.parse(value, path)
        if info.minimum is not None and isinstance(parsed, int) and parsed < info.minimum:
            raise SpecError(f"{path}: must be at least {info.minimum}, got {parsed}")
        if info.pattern is not None and isinstance(parsed, str) and not re.match(info.pattern, parsed):
            raise SpecError(f"{path}: {parsed!r} does not match {info.pattern}")
        kwargs[info.attr] = parsed if info.check is None else info.check(parsed, path)
    if cls.OPEN:
        kwargs[EXTRA] = {k: v for k, v in d.items() if k not in known}
    record = cls(**kwargs)
    record.check(where)
    return record


def optional_inner(hint: Any) -> Any:
    """`X` for `X | None`, else the hint itself."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {hint}")
        return args[0]
    return hint


def read_value(hint: Any, value: object, where: str) -> Any:
    hint = optional_inner(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, got {type_name(value)}")
        return tuple(read_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if origin is dict:
        entries = mapping(value, where)
        return {k: read_value(args[1], v, f"{where}.{k}") for k, v in entries.items()}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        if value not in allowed:
            shown = repr(value) if isinstance(value, str) else type_name(value)
            raise SpecError(f"{where}: expected one of {', '.join(allowed)}, got {shown}")
        return hint(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise SpecError(f"{where}: expected true or false, got {type_name(value)}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(f"{where}: expected a whole number, got {type_name(value)}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise SpecError(f"{where}: expected a string, got {type_name(value)}")
        return value
    if hasattr(hint, "from_json"):
        return hint.from_json(value, where)
    if hasattr(hint, "from_dict"):
        return hint.from_dict(value, where)
    raise TypeError(f"{where}: no reader for {hint}")


def write(record: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for info in field_infos(type(record)):
        value = getattr(record, info.attr)
        if value is None or (not info.required and not info.always and value == info.default):
            continue
        out[info.json] = write_value(value)
    extra = getattr(record, EXTRA, None)
    if isinstance(extra, Mapping):
        out.update({k: v for k, v in extra.items() if k not in out})
    return out


def write_value(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [write_value(v) for v in value]
    if isinstance(value, dict):
        return {k: write_value(v) for k, v in value.items()}
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value
