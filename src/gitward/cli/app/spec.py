"""The Application `gitward app create` sends: from a manifest file (-f), from flags, or both.

Everything is checked here, before the cluster sees it, by the same model the
controller reads apps with; a problem in a file is reported as
`file:line:col: field: message`, pointing at the offending node.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitward.cli.app.api import BAD_INPUT, CliError, Target
from gitward.model.application import API_VERSIONS, IN_CLUSTER, Application
from gitward.model.fields import SpecError


@dataclass(frozen=True)
class Flags:
    """What `app create` was given on the command line; empty means "not given"."""

    name: str = ""
    repo: str = ""
    path: str = ""
    revision: str = ""
    chart: str = ""
    dest_server: str = ""
    dest_name: str = ""
    dest_namespace: str = ""
    project: str = ""
    sync_policy: str = ""
    self_heal: bool = False
    auto_prune: bool = False
    allow_empty: bool = False
    sync_options: Sequence[str] = ()
    helm_set: Sequence[str] = ()
    values: Sequence[str] = ()
    release_name: str = ""
    recurse: bool = False
    labels: Sequence[str] = ()
    set_finalizer: bool = False


_AUTOMATED = {"automated", "automatic", "auto"}


def build(flags: Flags, file: Path | None, target: Target) -> dict[str, Any]:
    """The manifest to create: the file's (if any) with the flags laid over it, validated."""
    text, manifest = _load(file) if file is not None else ("", {})
    metadata = manifest.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        raise CliError(f"{file}: metadata: expected an object", BAD_INPUT)
    spec = manifest.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise CliError(f"{file}: spec: expected an object", BAD_INPUT)
    if manifest.get("apiVersion", target.resource.api_version) not in API_VERSIONS:
        raise CliError(
            f"{file}: apiVersion {manifest.get('apiVersion')!r} is not an Application's", BAD_INPUT
        )
    # An Argo CD manifest is welcome: it becomes an Application of the group this command serves.
    manifest["apiVersion"] = target.resource.api_version
    manifest.setdefault("kind", "Application")
    _overlay(flags, metadata, spec, target)
    if not metadata.get("name"):
        raise CliError("the application needs a name: give NAME or metadata.name in -f FILE", BAD_INPUT)
    if metadata.get("namespace") not in (None, target.namespace):
        raise CliError(
            f"{file}: metadata.namespace is {metadata['namespace']!r} but --app-namespace is "
            f"{target.namespace!r}",
            BAD_INPUT,
        )
    metadata["namespace"] = target.namespace
    try:
        Application.from_dict(manifest)
    except SpecError as problem:
        raise CliError(_locate(str(problem), file, text), BAD_INPUT) from None
    return manifest


def _load(file: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as problem:
        raise CliError(f"{file}: cannot read: {problem.strerror or problem}", BAD_INPUT) from None
    try:
        documents = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        raise CliError(f"{where}: malformed YAML: {problem.problem}", BAD_INPUT) from None
    except yaml.YAMLError as problem:
        raise CliError(f"{file}: malformed YAML: {problem}", BAD_INPUT) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise CliError(f"{file}: expected one Application manifest (one YAML or JSON object)", BAD_INPUT)
    return text, documents[0]


def _overlay(flags: Flags, metadata: dict[str, Any], spec: dict[str, Any], target: Target) -> None:
    if flags.name:
        if metadata.get("name") not in (None, flags.name):
            raise CliError(
                f"NAME {flags.name!r} differs from metadata.name {metadata['name']!r} in the file", BAD_INPUT
            )
        metadata["name"] = flags.name
    if flags.labels:
        metadata.setdefault("labels", {}).update(_pairs(flags.labels, "--label"))
    if flags.set_finalizer and target.resource.finalizer not in metadata.get("finalizers", []):
        metadata.setdefault("finalizers", []).append(target.resource.finalizer)
    if flags.project:
        spec["project"] = flags.project
    _overlay_source(flags, spec)
    destination = spec.setdefault("destination", {})
    if flags.dest_server:
        destination["server"] = flags.dest_server
    if flags.dest_name:
        destination["name"] = flags.dest_name
    if not destination.get("server") and not destination.get("name"):
        destination["server"] = IN_CLUSTER  # the cluster gitward runs in, as Argo CD's in-cluster
    if flags.dest_namespace:
        destination["namespace"] = flags.dest_namespace
    _overlay_policy(flags, spec)


def _overlay_source(flags: Flags, spec: dict[str, Any]) -> None:
    helm_given = bool(flags.helm_set or flags.values or flags.release_name)
    if not (flags.repo or flags.path or flags.revision or flags.chart or helm_given or flags.recurse):
        return
    if spec.get("sources"):
        raise CliError("source flags (--repo, --path ...) cannot change an app with sources[]", BAD_INPUT)
    source = spec.setdefault("source", {})
    for key, value in (
        ("repoURL", flags.repo),
        ("path", flags.path),
        ("targetRevision", flags.revision),
        ("chart", flags.chart),
    ):
        if value:
            source[key] = value
    source.setdefault("targetRevision", "HEAD")
    if flags.helm_set or flags.values or flags.release_name:
        helm = source.setdefault("helm", {})
        if flags.helm_set:
            parameters = helm.setdefault("parameters", [])
            parameters.extend(
                {"name": k, "value": v} for k, v in _pairs(flags.helm_set, "--helm-set").items()
            )
        if flags.values:
            helm.setdefault("valueFiles", []).extend(flags.values)
        if flags.release_name:
            helm["releaseName"] = flags.release_name
    if flags.recurse:
        source.setdefault("directory", {})["recurse"] = True


def _overlay_policy(flags: Flags, spec: dict[str, Any]) -> None:
    policy_given = flags.sync_policy or flags.self_heal or flags.auto_prune or flags.allow_empty
    if not (policy_given or flags.sync_options):
        return
    policy = spec.setdefault("syncPolicy", {})
    choice = flags.sync_policy.lower()
    if choice in ("none", "manual"):
        if flags.self_heal or flags.auto_prune or flags.allow_empty:
            raise CliError(
                "--self-heal, --auto-prune and --allow-empty need --sync-policy automated", BAD_INPUT
            )
        policy.pop("automated", None)
    elif choice in _AUTOMATED or (not choice and policy_given):
        automated = policy.setdefault("automated", {})
        for key, value in (
            ("selfHeal", flags.self_heal),
            ("prune", flags.auto_prune),
            ("allowEmpty", flags.allow_empty),
        ):
            if value:
                automated[key] = True
    elif choice:
        raise CliError(f"--sync-policy {flags.sync_policy!r}: expected automated or none", BAD_INPUT)
    if flags.sync_options:
        options = policy.setdefault("syncOptions", [])
        options.extend(o for o in flags.sync_options if o not in options)


def _pairs(items: Sequence[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"{flag} {item!r}: expected name=value", BAD_INPUT)
        pairs[name] = value
    return pairs


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _locate(message: str, file: Path | None, text: str) -> str:
    """Prefix a model error `a.b[0].c: ...` with file:line:col of the deepest node the path reaches."""
    if file is None:
        return message
    path, sep, _ = message.partition(": ")
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.CSafeLoader) if sep else None
    except yaml.YAMLError:
        node = None
    if node is None:
        return f"{file}: {message}"
    for name, index in _STEP.findall(path):
        child = _child(node, name, index)
        if child is None:
            break
        node = child
    mark = node.start_mark
    return f"{file}:{mark.line + 1}:{mark.column + 1}: {message}"


def _child(node: yaml.Node, name: str, index: str) -> yaml.Node | None:
    if index and isinstance(node, yaml.SequenceNode):
        position = int(index)
        return node.value[position] if position < len(node.value) else None
    if name and isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == name:
                return value  # type: ignore[no-any-return]
    return None
