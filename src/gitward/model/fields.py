"""Reading one field of a spec: the checks and messages every model record shares.

Each reader takes the object, the key and where the object sits in the spec
(`spec.source.helm`), and raises SpecError naming the field when the value
has the wrong type, so a typo in a manifest becomes a visible
InvalidSpecError, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping


class SpecError(ValueError):
    """A spec that does not have the shape Argo CD's Application or AppProject defines."""


Path = str  # where a value sits in the spec, e.g. `spec.source.helm`


def check_keys(data: Mapping[str, object], allowed: frozenset[str], where: Path) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}; expected some of {sorted(allowed)}")


def mapping(value: object, where: Path) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise SpecError(f"{where}: expected an object, got {type_name(value)}")
    return value


def type_name(value: object) -> str:
    kinds = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list"}
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    return kinds.get(type(value), type(value).__name__)


def string(data: Mapping[str, object], key: str, where: Path, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise SpecError(f"{where}.{key}: expected a string, got {type_name(value)}")
    return value


def boolean(data: Mapping[str, object], key: str, where: Path) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"{where}.{key}: expected true or false, got {type_name(value)}")
    return value


def list_of(data: Mapping[str, object], key: str, where: Path) -> list[object]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise SpecError(f"{where}.{key}: expected a list, got {type_name(value)}")
    return value


def str_list(data: Mapping[str, object], key: str, where: Path) -> tuple[str, ...]:
    items = list_of(data, key, where)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise SpecError(f"{where}.{key}[{i}]: expected a string, got {type_name(item)}")
    return tuple(str(i) for i in items)


def str_map(data: Mapping[str, object], key: str, where: Path) -> dict[str, str]:
    value = mapping(data.get(key, {}), f"{where}.{key}")
    for k, v in value.items():
        if not isinstance(v, str):
            raise SpecError(f"{where}.{key}.{k}: expected a string, got {type_name(v)}")
    return {k: str(v) for k, v in value.items()}
