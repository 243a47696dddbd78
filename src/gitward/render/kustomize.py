"""The Kustomize renderer: `kustomize build` of an app folder, with the app's `kustomize` options.

Before any binary runs, every kustomization reachable from the app folder is
read by us (its bases, components, resources, patches and generator files):
- a malformed kustomization or resource file is reported at file:line:col,
  as the directory renderer would, instead of as kustomize's one-line error;
- a reference that leaves the repository (`../../..`, an absolute path, a
  symlink out) is refused, naming the kustomization and the entry's position;
- a remote base (a URL, `github.com/org/repo//path?ref=v1`, `git@host:repo`)
  is refused unless remote bases are allowed, naming where it is written;
- Secrets' values met on the way are remembered, so they can be cut from
  kustomize's own messages (which quote inline patches and literals).

Options are applied as Argo CD applies them: `kustomize edit` commands
(nameprefix, namesuffix, image, replicas, label, annotation, namespace,
component) and a direct edit for `patches`, in Argo CD's order, on a copy of
the app's kustomization in a shadow of the tree (see trees.py). An overlay
kustomization that lists the app folder as a resource would be simpler and
need no copy, but it is not what Argo CD users get: `edit set nameprefix`
replaces the folder's own namePrefix where an overlay would stack a second
one, `edit set image nginx:1.2` rewrites the folder's existing `nginx` entry
where an overlay would miss the renamed image, and patch paths and
components would need rewriting relative to the overlay.

Spec values go on `kustomize edit`'s command line after `--`, so none is
ever read as a flag; a kustomization file that is a symlink leaving the
repository (say, into another repository's checkout in the cache) is refused
like any other entry that leaves it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitward.model import KustomizeSource
from gitward.render.documents import Loader, read_documents
from gitward.render.job import Job
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.trees import replace_file, resolve_within, shadow, shown
from gitward.render.validate import (
    Limits,
    Placed,
    check_duplicates,
    objects_from_output,
    read_file_documents,
    read_manifest_file,
    secret_values,
)

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# What kustomize would fetch: URLs, go-getter and scp-like git addresses, and its repo shorthands.
_REMOTE = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|git::|git@|[\w.-]+@[\w.-]+:|(?:github\.com|gitlab\.com|bitbucket\.org)/)"
    r"|\?(?:ref|version|timeout|submodules)="
    r"|\.git(?://|/|$)"
)


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def looks_remote(entry: str) -> bool:
    return bool(_REMOTE.search(entry.strip()))


_At = tuple[str, int, int]


def _at(file: str, node: Node | None) -> _At:
    if node is None:
        return (file, 0, 0)
    return (file, node.start_mark.line + 1, node.start_mark.column + 1)


def _pairs(node: Node | None) -> list[tuple[str, Node]]:
    if not isinstance(node, MappingNode):
        return []
    return [(k.value, v) for k, v in node.value if isinstance(k, ScalarNode)]


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) and isinstance(node.value, str) else None


class Inspector:
    """Walks the kustomizations an app folder reaches, collecting problems and secret values."""

    def __init__(self, root: Path, limits: Limits, allow_remote: bool) -> None:
        self.root = root
        self.limits = limits
        self.allow_remote = allow_remote
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self._seen: set[Path] = set()

    def _problem(self, at: _At, message: str) -> None:
        self.problems.append(Problem(at[0], at[1], at[2], message))

    # A kustomization folder ---------------------------------------------------------------------

    def folder(self, folder: Path, at: _At | None = None) -> None:
        if folder in self._seen:
            return
        self._seen.add(folder)
        kfile = kustomization_file(folder)
        if kfile is None:
            where = at or (shown(folder, self.root), 0, 0)
            self._problem(where, f"{shown(folder, self.root)} has no kustomization.yaml")
            return
        file = shown(kfile, self.root)
        _target, why = resolve_within(self.root, folder, kfile.name)
        if why:  # kustomize would read it through the link: another repository's file, or the host's
            self._problem((file, 0, 0), f"{kfile.name}: {why}")
            return
        documents = read_file_documents(kfile, file, self.limits, self.problems)
        if documents is None:
            return
        nodes = [d for d in documents if d.value is not None]
        if len(nodes) != 1 or not isinstance(nodes[0].value, dict):
            self._problem((file, 1, 1), "a kustomization must be one YAML object")
            return
        self._kustomization(folder, file, nodes[0].node)

    def _kustomization(self, folder: Path, file: str, node: Node | None) -> None:
        for key, value in _pairs(node):
            if key in ("resources", "bases", "components"):
                for item in _items(value):
                    self._entry(folder, item, file, key, manifests=key == "resources")
            elif key in ("crds", "configurations"):
                for item in _items(value):
                    self._file(folder, _scalar(item), _at(file, item), key)
            elif key in ("generators", "transformers", "validators"):
                for item in _items(value):
                    text = _scalar(item)
                    if text is not None and "\n" not in text:
                        self._entry(folder, item, file, key, manifests=False)
            elif key == "patchesStrategicMerge":
                for item in _items(value):
                    text = _scalar(item)
                    if text is not None and ("\n" in text or text.lstrip().startswith("{")):
                        self._inline(text, _at(file, item), key)
                    else:
                        self._file(folder, text, _at(file, item), key, secrets=True)
            elif key in ("patches", "patchesJson6902"):
                for item in _items(value):
                    fields = dict(_pairs(item))
                    if "path" in fields:
                        at = _at(file, fields["path"])
                        self._file(folder, _scalar(fields["path"]), at, f"{key}.path", secrets=True)
                    if "patch" in fields:
                        text = _scalar(fields["patch"])
                        if text is not None:
                            self._inline(text, _at(file, fields["patch"]), f"{key}.patch")
            elif key == "replacements":
                for item in _items(value):
                    fields = dict(_pairs(item))
                    if "path" in fields:
                        self._file(folder, _scalar(fields["path"]), _at(file, fields["path"]), key)
            elif key == "openapi":
                fields = dict(_pairs(value))
                if "path" in fields:
                    self._file(folder, _scalar(fields["path"]), _at(file, fields["path"]), key)
            elif key in ("configMapGenerator", "secretGenerator"):
                for item in _items(value):
                    self._generator(folder, file, item, key)
            elif key in ("helmCharts", "helmGlobals", "helmChartInflationGenerator"):
                self._problem(
                    _at(file, value),
                    f"{key}: Helm charts inside a kustomization need `kustomize build --enable-helm`, "
                    "which gitward does not run; render the chart as a Helm source instead",
                )

    def _generator(self, folder: Path, file: str, node: Node, key: str) -> None:
        secret = key == "secretGenerator"
        for name, value in _pairs(node):
            entries = _items(value) if name in ("files", "envs", "literals") else [value]
            if name not in ("files", "envs", "env", "literals"):
                continue
            for item in entries:
                text = _scalar(item)
                at = _at(file, item)
                if text is None:
                    continue
                if name == "literals":
                    if "=" not in text:
                        self._problem(at, f"{key}.literals: an entry is not key=value")
                    elif secret:
                        self.secrets.add(text.partition("=")[2])
                    continue
                # `files` entries may be `key=path`.
                path = text.partition("=")[2] if name == "files" and "=" in text else text
                target = self._file(folder, path, at, f"{key}.{name}")
                if secret and target is not None:
                    self._secret_file(target, env=name != "files")

    # Entries ------------------------------------------------------------------------------------

    def _entry(self, folder: Path, node: Node, file: str, field: str, *, manifests: bool) -> None:
        entry = _scalar(node)
        at = _at(file, node)
        if not entry:
            self._problem(at, f"{field}: an entry is empty or not a string")
            return
        if looks_remote(entry) and not (folder / entry).exists():
            if not self.allow_remote:
                self._problem(
                    at,
                    f"{field} {entry!r} is a remote base; remote bases are not allowed "
                    "(rendering uses no network)",
                )
            return
        target, why = resolve_within(self.root, folder, entry)
        if target is None:
            self._problem(at, f"{field} {entry!r}: {why}")
            return
        if target.is_dir():
            self.folder(target, at)
        elif manifests:
            for placed in read_manifest_file(target, shown(target, self.root), self.limits, self.problems):
                self.secrets |= secret_values(placed.obj)

    def _file(
        self, folder: Path, entry: str | None, at: _At, field: str, *, secrets: bool = False
    ) -> Path | None:
        if not entry:
            self._problem(at, f"{field}: an entry is empty or not a string")
            return None
        if looks_remote(entry) and not (folder / entry).exists():
            if not self.allow_remote:
                self._problem(at, f"{field} {entry!r} is remote; rendering uses no network")
            return None
        target, why = resolve_within(self.root, folder, entry)
        if target is None:
            self._problem(at, f"{field} {entry!r}: {why}")
            return None
        if secrets and target.is_file():
            self._secret_file(target, env=False, yaml_file=True)
        return target

    def _inline(self, text: str, at: _At, field: str) -> None:
        documents, found = read_documents(text, at[0], limits=self.limits)
        if found:
            detail = found[0].message
            line = f" (line {found[0].line} of the patch)" if found[0].line else ""
            self._problem(at, f"{field}: inline patch: {detail}{line}")
            return
        for document in documents:
            if isinstance(document.value, dict):
                self.secrets |= secret_values(document.value)

    def _secret_file(self, target: Path, *, env: bool, yaml_file: bool = False) -> None:
        try:
            if target.stat().st_size > 64 * 1024:
                return
            text = target.read_text(errors="replace")
        except OSError:
            return
        if yaml_file:
            documents, found = read_documents(text, "", limits=self.limits)
            for document in [] if found else documents:
                if isinstance(document.value, dict):
                    self.secrets |= secret_values(document.value)
        elif env:
            for line in text.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    self.secrets.add(line.strip())
                    self.secrets.add(line.partition("=")[2].strip())
        else:
            self.secrets.add(text.strip())

    # The app's own options ----------------------------------------------------------------------

    def spec(self, app: Path, spec: KustomizeSource, where: str) -> None:
        for i, component in enumerate(spec.components):
            field = f"spec kustomize.components[{i}]"
            if looks_remote(component) and not (app / component).exists():
                if not self.allow_remote:
                    self._problem(
                        (where, 0, 0), f"{field} {component!r} is a remote base; remote bases are not allowed"
                    )
                continue
            target, why = resolve_within(self.root, app, component)
            if target is None:
                self._problem((where, 0, 0), f"{field} {component!r}: {why}")
            else:
                self.folder(target, (where, 0, 0))
        for i, patch in enumerate(spec.patches):
            field = f"spec kustomize.patches[{i}]"
            if isinstance(patch.get("path"), str):
                self._file(app, patch["path"], (where, 0, 0), f"{field}.path", secrets=True)
            elif isinstance(patch.get("patch"), str):
                self._inline(patch["patch"], (where, 0, 0), f"{field}.patch")


def render_kustomize(
    job: Job, root: Path, app: Path, spec: KustomizeSource | None, *, allow_remote: bool
) -> list[Placed]:
    """The validated objects `kustomize build` makes of `app` (a folder under the tree `root`)."""
    kfile = kustomization_file(app)
    where = shown(kfile, root) if kfile else shown(app, root)
    inspector = Inspector(root, job.limits, allow_remote)
    inspector.folder(app)
    if spec is not None:
        inspector.spec(app, spec, shown(app, root))
    if inspector.problems:
        raise ValidationFailed(inspector.problems)
    if kfile is None:  # the inspector reports this; kept for the type checker
        raise ValidationFailed([Problem(where, 0, 0, "no kustomization.yaml")])
    job.secrets |= inspector.secrets
    job.paths[str(root)] = ""
    folder = app
    if spec is not None and spec.to_dict():
        work = shadow(root, job.scratch / "tree", [app], link_files=True)
        job.paths[str(work)] = ""
        folder = work / app.relative_to(root)
        # `kustomize edit` rewrites this file in place: it must be a copy, never a link into the tree.
        replace_file(folder / kfile.name, kfile.read_text())
        _apply_options(job, folder, folder / kfile.name, spec, where)
    completed = job.run(
        "kustomize", ["build", "--", str(folder)], cwd=job.scratch, where=where, what="kustomize build"
    )
    if completed.returncode != 0:
        raise job.failed(completed, where, "kustomize build")
    problems: list[Problem] = []
    text = completed.stdout.decode("utf-8", errors="replace")
    placed = objects_from_output(text, "kustomize build", lambda _i, _line: where, job.limits, problems)
    check_duplicates(placed, problems)
    if problems:
        raise ValidationFailed(problems)
    return placed


def _apply_options(job: Job, folder: Path, kfile: Path, spec: KustomizeSource, where: str) -> None:
    """In Argo CD's order: prefix, suffix, images, replicas, labels, annotations, namespace, patches,
    components."""
    edits: list[tuple[str, list[str]]] = []
    if spec.name_prefix:
        edits.append(("namePrefix", ["set", "nameprefix", "--", spec.name_prefix]))
    if spec.name_suffix:
        edits.append(("nameSuffix", ["set", "namesuffix", "--", spec.name_suffix]))
    if spec.images:
        edits.append(("images", ["set", "image", "--", *spec.images]))
    if spec.replicas:
        counts = (f"{r.name}={r.count}" for r in spec.replicas)
        edits.append(("replicas", ["set", "replicas", "--", *counts]))
    if spec.common_labels:
        flags = [
            flag
            for on, flag in (
                (spec.force_common_labels, "--force"),
                (spec.label_without_selector, "--without-selector"),
                (spec.label_include_templates, "--include-templates"),
            )
            if on
        ]
        pairs = (f"{k}:{v}" for k, v in spec.common_labels.items())
        edits.append(("commonLabels", ["add", "label", *flags, "--", *pairs]))
    if spec.common_annotations:
        pairs = (f"{k}:{v}" for k, v in spec.common_annotations.items())
        force = ["--force"] if spec.force_common_annotations else []
        edits.append(("commonAnnotations", ["add", "annotation", *force, "--", *pairs]))
    if spec.namespace:
        edits.append(("namespace", ["set", "namespace", "--", spec.namespace]))
    for field, args in edits:
        _edit(job, folder, field, args, where)
    if spec.patches:
        _add_patches(kfile, spec)
    if spec.components:
        _edit(job, folder, "components", ["add", "component", "--", *spec.components], where)


def _edit(job: Job, folder: Path, field: str, args: list[str], where: str) -> None:
    completed = job.run("kustomize", ["edit", *args], cwd=folder, where=where, what="kustomize edit")
    if completed.returncode != 0:
        raise ValidationFailed(
            [Problem(where, 0, 0, f"spec kustomize.{field}: kustomize edit failed: {job.message(completed)}")]
        )


def _add_patches(kfile: Path, spec: KustomizeSource) -> None:
    # There is no `kustomize edit` for patches; Argo CD appends to the list itself, and so do we.
    data = yaml.load(kfile.read_text(), Loader=Loader) or {}  # noqa: S506 - Loader is a CSafeLoader
    existing = data.get("patches") or []
    data["patches"] = [*existing, *(dict(p) for p in spec.patches)]
    replace_file(kfile, yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False))
