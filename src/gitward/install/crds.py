"""The Application and AppProject CustomResourceDefinitions, generated from `gitward.model`.

One generator serves both groups: `gitward.dev` (ours) and, in Argo CD
compatibility mode, `argoproj.io`, so a manifest written for Argo CD is
validated exactly as one written for gitward.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gitward.install.openapi import Schema, schema_of
from gitward.model.application import ARGOCD_GROUP, GROUP, VERSION, Application
from gitward.model.codec import field_infos
from gitward.model.project import AppProject

LABELS = {"app.kubernetes.io/part-of": "gitward"}


@dataclasses.dataclass(frozen=True)
class Names:
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]


APPLICATION = Names("Application", "applications", "application", ("app", "apps"))
APP_PROJECT = Names("AppProject", "appprojects", "appproject", ("appproj", "appprojs"))

_APPLICATION_COLUMNS = [
    {"name": "Sync", "type": "string", "jsonPath": ".status.sync.status"},
    {"name": "Health", "type": "string", "jsonPath": ".status.health.status"},
    {"name": "Revision", "type": "string", "jsonPath": ".status.sync.revision"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
_PROJECT_COLUMNS = [
    {"name": "Description", "type": "string", "jsonPath": ".spec.description"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def _root(record: type, description: str) -> Schema:
    """The top of an object's schema: typed spec/operation/status; metadata is the API server's."""
    properties: dict[str, Schema] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
    }
    required = []
    for info in field_infos(record):
        if info.attr in ("spec", "operation", "status"):
            properties[info.json] = schema_of(info.hint)
            if info.required:
                required.append(info.json)
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = required
    return schema


def crd(names: Names, group: str, schema: Schema, columns: list[dict[str, str]]) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": VERSION,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema},
        "subresources": {"status": {}},
        "additionalPrinterColumns": columns,
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{names.plural}.{group}", "labels": dict(LABELS)},
        "spec": {
            "group": group,
            "names": {
                "kind": names.kind,
                "listKind": f"{names.kind}List",
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": list(names.short_names),
            },
            "scope": "Namespaced",
            "versions": [version],
        },
    }


def application_crd(group: str = GROUP) -> dict[str, Any]:
    schema = _root(Application, "A set of objects from Git that gitward keeps the cluster matching.")
    return crd(APPLICATION, group, schema, _APPLICATION_COLUMNS)


def app_project_crd(group: str = GROUP) -> dict[str, Any]:
    schema = _root(AppProject, "Where a group of Applications may deploy from and to, and when.")
    return crd(APP_PROJECT, group, schema, _PROJECT_COLUMNS)


def crds(compat_argocd: bool = False) -> list[dict[str, Any]]:
    groups = [GROUP, ARGOCD_GROUP] if compat_argocd else [GROUP]
    return [make(group) for group in groups for make in (application_crd, app_project_crd)]
