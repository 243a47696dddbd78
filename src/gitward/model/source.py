"""An Application's source spec, with Argo CD's field names (`spec.source` / `spec.sources[]`).

The records read and write through `gitward.model.codec`, which refuses wrong
types and unknown keys with a message naming the field, because a typo in a
spec must become a visible InvalidSpecError, not a silent default. The checks
here are for values that reach git, helm or kustomize: see gitward.model.names.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from gitward.model import names
from gitward.model.codec import Check, Record, each, key, read
from gitward.model.fields import SpecError, boolean, check_keys, list_of, mapping, string, type_name
from gitward.model.glob import GlobError, check_glob
from gitward.model.repo_url import RepoURLError, local_repos_allowed, normalise


class SourceType(enum.StrEnum):
    """How a source becomes manifests (Argo CD's ApplicationSourceType names, lower-cased)."""

    directory = "directory"
    helm = "helm"
    kustomize = "kustomize"


_REF = re.compile(r"^[A-Za-z0-9_-]+$")


class _Fingerprinted(Record):
    """Hash and equality through a canonical JSON form, so specs holding dicts can key caches."""

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def __hash__(self) -> int:
        return hash(self.fingerprint())


def _glob(pattern: str, where: str) -> str:
    """A path glob, checked now: a bad one is a spec error naming the field, not a failed render."""
    try:
        check_glob(pattern.removeprefix("./"), separator="/", zero_dirs=True)
    except GlobError as problem:
        raise SpecError(f"{where}: {problem}") from None
    return pattern


def _named(rule: Callable[[str], str | None], *, secret: bool = False, optional: bool = False) -> Check:
    """A check that `rule` (gitward.model.names) accepts the value, which reaches a command line.

    `optional`: empty means unset and is not checked. `secret` for a value that may be a secret (a helm
    parameter's): the error then names the field only."""

    def check(value: str, where: str) -> str:
        why = None if optional and not value else rule(value)
        if why is not None:
            raise SpecError(f"{where}: {why}" if secret else f"{where}: {value!r} {why}")
        return value

    return check


@dataclass(frozen=True, eq=True)
class DirectorySource(_Fingerprinted):
    recurse: bool = False
    include: str = field(default="", metadata=key(check=_glob))
    exclude: str = field(default="", metadata=key(check=_glob))

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class HelmParameter(_Fingerprinted):
    name: str = field(metadata=key(check=_named(names.parameter_name)))
    value: str = field(default="", metadata=key(check=_named(names.argument, secret=True)))
    force_string: bool = False

    __hash__ = _Fingerprinted.__hash__


@dataclass(frozen=True, eq=True)
class HelmSource(_Fingerprinted):
    # Each checked field reaches helm's command line.
    value_files: tuple[str, ...] = field(default=(), metadata=key(check=each(_named(names.positional))))
    values: str = ""
    values_object: dict[str, Any] = field(default_factory=dict)
    parameters: tuple[HelmParameter, ...] = ()
    release_name: str = field(default="", metadata=key(check=_named(names.release_name, optional=True)))
    namespace: str = field(default="", metadata=key(check=_named(names.namespace, optional=True)))
    kube_version: str = field(default="", metadata=key(check=_named(names.kube_version, optional=True)))
    api_versions: tuple[str, ...] = field(default=(), metadata=key(check=each(_named(names.api_version))))
    skip_crds: bool = False
    ignore_missing_value_files: bool = False

    __hash__ = _Fingerprinted.__hash__


def _int_or_string(value: object, where: str) -> int:
    """Argo CD's IntOrString for a replica count: `3` or `"3"`."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(f"{where}: expected a whole number, got {type_name(value)}")
    return value


@dataclass(frozen=True, eq=True)
class KustomizeReplica(_Fingerprinted):
    name: str
    count: int = field(metadata=key(parse=_int_or_string, schema={"x-kubernetes-int-or-string": True}))

    __hash__ = _Fingerprinted.__hash__


_PATCH_KEYS = frozenset({"path", "patch", "target", "options"})
_TARGET_KEYS = frozenset(
    {"group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"}
)


def _patch(patch: dict[str, Any], where: str) -> dict[str, Any]:
    """One of kustomize's `patches` entries: a `path` or an inline `patch`, an optional `target`."""
    check_keys(patch, _PATCH_KEYS, where)
    if ("path" in patch) == ("patch" in patch):
        raise SpecError(f"{where}: give exactly one of path and patch")
    string(patch, "path" if "path" in patch else "patch", where)
    if "target" in patch:
        target = mapping(patch["target"], f"{where}.target")
        check_keys(target, _TARGET_KEYS, f"{where}.target")
        for name in target:
            string(target, name, f"{where}.target")
    if "options" in patch:
        options = mapping(patch["options"], f"{where}.options")
        for name in options:
            boolean(options, name, f"{where}.options")
    return patch


@dataclass(frozen=True, eq=True)
class KustomizeSource(_Fingerprinted):
    name_prefix: str = ""
    name_suffix: str = ""
    # Images, components and the namespace reach `kustomize edit`'s command line.
    images: tuple[str, ...] = field(default=(), metadata=key(check=each(_named(names.kustomize_value))))
    replicas: tuple[KustomizeReplica, ...] = ()
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)
    namespace: str = field(default="", metadata=key(check=_named(names.namespace, optional=True)))
    patches: tuple[dict[str, Any], ...] = field(default=(), metadata=key(check=each(_patch)))
    components: tuple[str, ...] = field(default=(), metadata=key(check=each(_named(names.kustomize_value))))
    # A commonLabels/commonAnnotations key the kustomization already sets is replaced, not an error.
    force_common_labels: bool = False
    force_common_annotations: bool = False
    # commonLabels on metadata only (kustomize `labels:` without selectors), and with
    # labelIncludeTemplates also on pod templates.
    label_without_selector: bool = False
    label_include_templates: bool = False

    def check(self, where: str) -> None:
        if self.label_include_templates and not self.label_without_selector:
            # kustomize refuses --include-templates alone; say so before any render.
            raise SpecError(f"{where}.labelIncludeTemplates: needs labelWithoutSelector: true")

    __hash__ = _Fingerprinted.__hash__


def _repo_url(url: str, where: str) -> str:
    if not url:
        raise SpecError(f"{where}: required")
    return url


def _revision(revision: str, where: str) -> str:
    # An empty targetRevision means HEAD in Argo CD, so both spellings give one spec.
    revision = revision or "HEAD"
    if revision.startswith("-") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in revision):
        raise SpecError(f"{where}: must not start with '-' or hold control characters")
    return revision


def _ref(ref: str, where: str) -> str:
    if ref and not _REF.match(ref):
        raise SpecError(f"{where}: {ref!r} must be letters, digits, '-' or '_' (it is used as $ref/...)")
    return ref


@dataclass(frozen=True, eq=True)
class ApplicationSource(_Fingerprinted):
    repo_url: str = field(metadata=key(check=_repo_url))
    path: str = ""
    target_revision: str = field(default="HEAD", metadata=key(check=_revision, always=True))
    chart: str = field(default="", metadata=key(check=_named(names.chart_name, optional=True)))
    ref: str = field(default="", metadata=key(check=_ref))
    directory: DirectorySource | None = None
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    name: str = ""

    @classmethod
    def from_dict(cls, data: object, where: str = "source", *, local_folder: bool = False) -> Self:
        """`local_folder`: repoURL names a folder the CLI renders in place, never a repository to fetch."""
        source = read(cls, data, where)
        if not local_folder:
            try:
                # Refused here, before any matcher or git sees it: see gitward.model.repo_url.
                normalise(source.repo_url, allow_local=local_repos_allowed(), chart=bool(source.chart))
            except RepoURLError as problem:
                raise SpecError(f"{where}.repoURL: {problem}") from None
        return source

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

    __hash__ = _Fingerprinted.__hash__


def sources_from_spec(spec: object, where: str = "spec") -> tuple[ApplicationSource, ...]:
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
