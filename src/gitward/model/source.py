"""An Application's source spec, with Argo CD's field names (`spec.source` / `spec.sources[]`).

`from_dict` takes the camelCase keys exactly as they appear in a manifest and
refuses wrong types and unknown keys with a message naming the field, because
a typo in a spec must become a visible InvalidSpecError, not a silent default.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitward.model import names
from gitward.model.fields import (
    SpecError,
    boolean,
    check_keys,
    list_of,
    mapping,
    str_list,
    str_map,
    string,
    type_name,
)
from gitward.model.glob import GlobError, check_glob
from gitward.model.repo_url import RepoURLError, local_repos_allowed, normalise


class SourceType(enum.StrEnum):
    """How a source becomes manifests (Argo CD's ApplicationSourceType names, lower-cased)."""

    directory = "directory"
    helm = "helm"
    kustomize = "kustomize"


_REF = re.compile(r"^[A-Za-z0-9_-]+$")


_Path = str
_T = TypeVar("_T")


def _glob(data: Mapping[str, object], key: str, where: _Path) -> str:
    """A path glob, checked now: a bad one is a spec error naming the field, not a failed render."""
    pattern = string(data, key, where)
    try:
        check_glob(pattern.removeprefix("./"), separator="/", zero_dirs=True)
    except GlobError as problem:
        raise SpecError(f"{where}.{key}: {problem}") from None
    return pattern


class _Fingerprinted:
    """Hash and equality through a canonical JSON form, so specs holding dicts can key caches."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def __hash__(self) -> int:
        return hash(self.fingerprint())


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty fields so that equal specs serialise alike whether or not defaults were spelled out."""
    return {k: v for k, v in values.items() if v not in (None, "", False, [], {}, ())}


@dataclass(frozen=True, eq=True)
class DirectorySource(_Fingerprinted):
    recurse: bool = False
    include: str = ""
    exclude: str = ""

    _KEYS = frozenset({"recurse", "include", "exclude"})

    @classmethod
    def from_dict(cls, data: object, where: _Path = "directory") -> DirectorySource:
        d = mapping(data, where)
        check_keys(d, cls._KEYS, where)
        patterns = [_glob(d, key, where) for key in ("include", "exclude")]
        return cls(boolean(d, "recurse", where), *patterns)

    def to_dict(self) -> dict[str, Any]:
        return _compact({"recurse": self.recurse, "include": self.include, "exclude": self.exclude})

    __hash__ = _Fingerprinted.__hash__


def _named(value: str, rule: Callable[[str], str | None], where: _Path, *, show: bool = True) -> str:
    """`value` if `rule` (gitward.model.names) accepts it: it goes on a helm or kustomize command line.

    `show=False` for a value that may be a secret (a helm parameter's): the error names the field only."""
    why = rule(value)
    if why is not None:
        raise SpecError(f"{where}: {value!r} {why}" if show else f"{where}: {why}")
    return value


@dataclass(frozen=True, eq=True)
class HelmParameter(_Fingerprinted):
    name: str
    value: str = ""
    force_string: bool = False

    @classmethod
    def from_dict(cls, data: object, where: _Path) -> HelmParameter:
        d = mapping(data, where)
        check_keys(d, frozenset({"name", "value", "forceString"}), where)
        if "name" not in d:
            raise SpecError(f"{where}.name: required")
        return cls(
            _named(string(d, "name", where), names.parameter_name, f"{where}.name"),
            _named(string(d, "value", where), names.argument, f"{where}.value", show=False),
            boolean(d, "forceString", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return _compact({"name": self.name, "value": self.value, "forceString": self.force_string})

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class HelmSource(_Fingerprinted):
    value_files: tuple[str, ...] = ()
    values: str = ""
    values_object: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[HelmParameter, ...] = ()
    release_name: str = ""
    namespace: str = ""
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    skip_crds: bool = False
    ignore_missing_value_files: bool = False

    _KEYS = frozenset(
        {
            "valueFiles",
            "values",
            "valuesObject",
            "parameters",
            "releaseName",
            "namespace",
            "kubeVersion",
            "apiVersions",
            "skipCrds",
            "ignoreMissingValueFiles",
        }
    )

    @classmethod
    def from_dict(cls, data: object, where: _Path = "helm") -> HelmSource:
        d = mapping(data, where)
        check_keys(d, cls._KEYS, where)
        params = list_of(d, "parameters", where)
        release_name = string(d, "releaseName", where)
        namespace = string(d, "namespace", where)
        kube_version = string(d, "kubeVersion", where)
        value_files = str_list(d, "valueFiles", where)
        api_versions = str_list(d, "apiVersions", where)
        # Each of these reaches helm's command line: see gitward.model.names.
        if release_name:
            _named(release_name, names.release_name, f"{where}.releaseName")
        if namespace:
            _named(namespace, names.namespace, f"{where}.namespace")
        if kube_version:
            _named(kube_version, names.kube_version, f"{where}.kubeVersion")
        for i, entry in enumerate(value_files):
            _named(entry, names.positional, f"{where}.valueFiles[{i}]")
        for i, entry in enumerate(api_versions):
            _named(entry, names.api_version, f"{where}.apiVersions[{i}]")
        return cls(
            value_files=value_files,
            values=string(d, "values", where),
            values_object=dict(mapping(d.get("valuesObject", {}), f"{where}.valuesObject")),
            parameters=tuple(
                HelmParameter.from_dict(p, f"{where}.parameters[{i}]") for i, p in enumerate(params)
            ),
            release_name=release_name,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
            skip_crds=boolean(d, "skipCrds", where),
            ignore_missing_value_files=boolean(d, "ignoreMissingValueFiles", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "valueFiles": list(self.value_files),
                "values": self.values,
                "valuesObject": self.values_object,
                "parameters": [p.to_dict() for p in self.parameters],
                "releaseName": self.release_name,
                "namespace": self.namespace,
                "kubeVersion": self.kube_version,
                "apiVersions": list(self.api_versions),
                "skipCrds": self.skip_crds,
                "ignoreMissingValueFiles": self.ignore_missing_value_files,
            }
        )

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class KustomizeReplica(_Fingerprinted):
    name: str
    count: int

    @classmethod
    def from_dict(cls, data: object, where: _Path) -> KustomizeReplica:
        d = mapping(data, where)
        check_keys(d, frozenset({"name", "count"}), where)
        count = d.get("count")
        # Argo CD accepts the count as a number or a numeric string (an IntOrString).
        if isinstance(count, str) and count.isdigit():
            count = int(count)
        if not isinstance(count, int) or isinstance(count, bool):
            raise SpecError(f"{where}.count: expected a whole number, got {type_name(count)}")
        return cls(string(d, "name", where), count)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "count": self.count}

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class KustomizeSource(_Fingerprinted):
    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    replicas: tuple[KustomizeReplica, ...] = ()
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)
    namespace: str = ""
    patches: tuple[dict[str, Any], ...] = ()
    components: tuple[str, ...] = ()
    # A commonLabels/commonAnnotations key the kustomization already sets is replaced, not an error.
    force_common_labels: bool = False
    force_common_annotations: bool = False
    # commonLabels on metadata only (kustomize `labels:` without selectors), and with
    # labelIncludeTemplates also on pod templates.
    label_without_selector: bool = False
    label_include_templates: bool = False

    _KEYS = frozenset(
        {
            "namePrefix",
            "nameSuffix",
            "images",
            "replicas",
            "commonLabels",
            "commonAnnotations",
            "namespace",
            "patches",
            "components",
            "forceCommonLabels",
            "forceCommonAnnotations",
            "labelWithoutSelector",
            "labelIncludeTemplates",
        }
    )

    @classmethod
    def from_dict(cls, data: object, where: _Path = "kustomize") -> KustomizeSource:
        d = mapping(data, where)
        check_keys(d, cls._KEYS, where)
        replicas = list_of(d, "replicas", where)
        patches = list_of(d, "patches", where)
        without_selector = boolean(d, "labelWithoutSelector", where)
        include_templates = boolean(d, "labelIncludeTemplates", where)
        if include_templates and not without_selector:
            # kustomize refuses --include-templates alone; say so before any render.
            raise SpecError(f"{where}.labelIncludeTemplates: needs labelWithoutSelector: true")
        namespace = string(d, "namespace", where)
        images = str_list(d, "images", where)
        components = str_list(d, "components", where)
        # These reach `kustomize edit`'s command line: see gitward.model.names.
        if namespace:
            _named(namespace, names.namespace, f"{where}.namespace")
        for key, entries in (("images", images), ("components", components)):
            for i, entry in enumerate(entries):
                _named(entry, names.kustomize_value, f"{where}.{key}[{i}]")
        return cls(
            name_prefix=string(d, "namePrefix", where),
            name_suffix=string(d, "nameSuffix", where),
            images=images,
            replicas=tuple(
                KustomizeReplica.from_dict(r, f"{where}.replicas[{i}]") for i, r in enumerate(replicas)
            ),
            common_labels=str_map(d, "commonLabels", where),
            common_annotations=str_map(d, "commonAnnotations", where),
            namespace=namespace,
            patches=tuple(_patch(p, f"{where}.patches[{i}]") for i, p in enumerate(patches)),
            components=components,
            force_common_labels=boolean(d, "forceCommonLabels", where),
            force_common_annotations=boolean(d, "forceCommonAnnotations", where),
            label_without_selector=without_selector,
            label_include_templates=include_templates,
        )

    def to_dict(self) -> dict[str, Any]:
        return _compact(
            {
                "namePrefix": self.name_prefix,
                "nameSuffix": self.name_suffix,
                "images": list(self.images),
                "replicas": [r.to_dict() for r in self.replicas],
                "commonLabels": self.common_labels,
                "commonAnnotations": self.common_annotations,
                "namespace": self.namespace,
                "patches": list(self.patches),
                "components": list(self.components),
                "forceCommonLabels": self.force_common_labels,
                "forceCommonAnnotations": self.force_common_annotations,
                "labelWithoutSelector": self.label_without_selector,
                "labelIncludeTemplates": self.label_include_templates,
            }
        )

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class ApplicationSource(_Fingerprinted):
    repo_url: str
    path: str = ""
    target_revision: str = "HEAD"
    chart: str = ""
    ref: str = ""
    directory: DirectorySource | None = None
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    name: str = ""

    _KEYS = frozenset(
        {"repoURL", "path", "targetRevision", "chart", "ref", "directory", "helm", "kustomize", "name"}
    )

    @classmethod
    def from_dict(
        cls, data: object, where: _Path = "source", *, local_folder: bool = False
    ) -> ApplicationSource:
        """`local_folder`: repoURL names a folder the CLI renders in place, never a repository to fetch."""
        d = mapping(data, where)
        check_keys(d, cls._KEYS, where)
        repo_url = string(d, "repoURL", where)
        if not repo_url:
            raise SpecError(f"{where}.repoURL: required")
        try:
            # Refused here, before any matcher or git sees it: see gitward.model.repo_url.
            if not local_folder:
                normalise(repo_url, allow_local=local_repos_allowed(), chart=bool(string(d, "chart", where)))
        except RepoURLError as problem:
            raise SpecError(f"{where}.repoURL: {problem}") from None
        # An empty targetRevision means HEAD in Argo CD, so both spellings give one spec.
        revision = string(d, "targetRevision", where) or "HEAD"
        if revision.startswith("-") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in revision):
            raise SpecError(f"{where}.targetRevision: must not start with '-' or hold control characters")
        chart = string(d, "chart", where)
        ref = string(d, "ref", where)
        if ref and not _REF.match(ref):
            raise SpecError(
                f"{where}.ref: {ref!r} must be letters, digits, '-' or '_' (it is used as $ref/...)"
            )
        directory = _opt(d, "directory", where, DirectorySource.from_dict)
        helm = _opt(d, "helm", where, HelmSource.from_dict)
        kustomize = _opt(d, "kustomize", where, KustomizeSource.from_dict)
        return cls(
            repo_url=repo_url,
            path=string(d, "path", where),
            target_revision=revision,
            chart=_named(chart, names.chart_name, f"{where}.chart") if chart else "",
            ref=ref,
            directory=directory,
            helm=helm,
            kustomize=kustomize,
            name=string(d, "name", where),
        )

    @property
    def ref_only(self) -> bool:
        """Only a holder of files for other sources' `$ref/...` value files: rendered into nothing."""
        return bool(self.ref) and not self.path and not self.chart

    def explicit_type(self) -> SourceType | None:
        """The renderer the spec names (a `chart`, or exactly one of helm/kustomize/directory), else None.

        Argo CD's rule: naming two is an error; naming none leaves the choice to the files.
        """
        if self.chart:
            return SourceType.helm
        named = [
            kind
            for kind, sub in (
                (SourceType.helm, self.helm),
                (SourceType.kustomize, self.kustomize),
                (SourceType.directory, self.directory),
            )
            if sub is not None
        ]
        if len(named) > 1:
            raise SpecError(
                "source: more than one of helm, kustomize and directory is set ("
                + ", ".join(k.value for k in named)
                + "); keep the one that matches the files"
            )
        return named[0] if named else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"repoURL": self.repo_url, "targetRevision": self.target_revision}
        out.update(_compact({"path": self.path, "chart": self.chart, "ref": self.ref, "name": self.name}))
        for key, sub in (("directory", self.directory), ("helm", self.helm), ("kustomize", self.kustomize)):
            if sub is not None:
                out[key] = sub.to_dict()
        return out

    __hash__ = _Fingerprinted.__hash__


def _opt(
    data: Mapping[str, object], key: str, where: _Path, parse: Callable[[object, _Path], _T]
) -> _T | None:
    value = data.get(key)
    return None if value is None else parse(value, f"{where}.{key}")


_PATCH_KEYS = frozenset({"path", "patch", "target", "options"})
_TARGET_KEYS = frozenset(
    {"group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"}
)


def _patch(data: object, where: _Path) -> dict[str, Any]:
    """One of kustomize's `patches` entries: a `path` or an inline `patch`, an optional `target`."""
    d = mapping(data, where)
    check_keys(d, _PATCH_KEYS, where)
    if ("path" in d) == ("patch" in d):
        raise SpecError(f"{where}: give exactly one of path and patch")
    string(d, "path" if "path" in d else "patch", where)
    if "target" in d:
        target = mapping(d["target"], f"{where}.target")
        check_keys(target, _TARGET_KEYS, f"{where}.target")
        for key in target:
            string(target, key, f"{where}.target")
    if "options" in d:
        options = mapping(d["options"], f"{where}.options")
        for key in options:
            boolean(options, key, f"{where}.options")
    return dict(d)


def sources_from_spec(spec: object, where: _Path = "spec") -> tuple[ApplicationSource, ...]:
    """An Application spec's sources: `sources[]`, or the single `source`.

    Both at once is refused (Argo CD silently ignores `source` then, which hides a mistake),
    as are two sources with the same `ref`.
    """
    d = mapping(spec, where)
    if d.get("sources") is not None and d.get("source") is not None:
        raise SpecError(f"{where}: set either source or sources, not both")
    if d.get("sources") is not None:
        items = list_of(d, "sources", where)
        if not items:
            raise SpecError(f"{where}.sources: at least one source is required")
        sources = tuple(
            ApplicationSource.from_dict(item, f"{where}.sources[{i}]") for i, item in enumerate(items)
        )
    elif d.get("source") is not None:
        sources = (ApplicationSource.from_dict(d["source"], f"{where}.source"),)
    else:
        raise SpecError(f"{where}: source or sources is required")
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.ref and source.ref in seen:
            raise SpecError(
                f"{where}.sources[{i}].ref: {source.ref!r} is already used by sources[{seen[source.ref]}]"
            )
        if source.ref:
            seen[source.ref] = i
    return sources
