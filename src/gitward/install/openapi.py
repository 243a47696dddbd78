"""OpenAPI v3 structural schemas for the CRDs, derived from the model's type hints.

The walk mirrors `gitward.model.codec.read_value`: what the model accepts,
the API server accepts, so `kubectl apply` refuses a mistake with the
field's path before the controller ever reads it.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any

from gitward.model.codec import Record, field_infos, optional_inner
from gitward.model.duration import Duration

Schema = dict[str, Any]

OPEN_OBJECT: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def schema_of(hint: Any) -> Schema:
    hint = optional_inner(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return {"x-kubernetes-preserve-unknown-fields": True}
    if origin is tuple:
        return {"type": "array", "items": schema_of(args[0])}
    if origin is dict:
        if args[1] is Any:
            return dict(OPEN_OBJECT)
        return {"type": "object", "additionalProperties": schema_of(args[1])}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [m.value for m in hint]}
    if hint is Duration:
        return {"type": "string", "pattern": Duration.PATTERN}
    simple = {bool: "boolean", int: "integer", str: "string"}
    if hint in simple:
        schema: Schema = {"type": simple[hint]}
        if hint is int:
            schema["format"] = "int64"
        return schema
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return object_schema(hint)
    raise TypeError(f"no schema for {hint}")


def object_schema(cls: type) -> Schema:
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for info in field_infos(cls):
        # A field read by its own `parse` says its own schema.
        prop = dict(info.schema) if info.schema is not None else schema_of(info.hint)
        if info.minimum is not None:
            prop["minimum"] = info.minimum
        if info.pattern is not None:
            prop["pattern"] = info.pattern
        if info.doc:
            prop["description"] = info.doc
        properties[info.json] = prop
        if info.required:
            required.append(info.json)
    schema: Schema = {"type": "object", "properties": dict(sorted(properties.items()))}
    if required:
        schema["required"] = sorted(required)
    if issubclass(cls, Record) and cls.OPEN:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    if issubclass(cls, Record) and cls.RULES:
        schema["x-kubernetes-validations"] = [
            {"rule": rule, "message": message} for rule, message in cls.RULES
        ]
    doc = _class_doc(cls)
    if doc:
        schema["description"] = doc
    return schema


def _class_doc(cls: type) -> str:
    """The first line of a record's own docstring (dataclass invents one when there is none)."""
    doc = cls.__dict__.get("__doc__") or ""
    if not doc or doc.startswith(f"{cls.__name__}("):
        return ""
    return doc.strip().splitlines()[0]
