"""The Helm renderer: `helm template` of a chart folder (from Git, or pulled from a Helm repository).

Arguments follow Argo CD: the release name defaults to the app's name, the
namespace to the destination's; valueFiles then `values`/`valuesObject` (the
object wins when both are set) go in as `--values` files, parameters as
`--set`/`--set-string` (commas escaped unless the value is a `{a,b}` list);
CRDs are included unless skipCrds. Hooks stay in the output with their
annotations: the sync engine maps them to phases.

Checked before helm runs (each a problem naming the file, and where known its line):
- Chart.yaml parses; the chart folder has no symlink leaving the repository
  (helm follows symlinks, so one could put a host file into a ConfigMap);
- every valueFiles entry stays inside its repository once `..` and symlinks
  are resolved (the class of CVE-2022-24348); an absolute path means the
  repository's top, as in Argo CD; `$ref/...` names another source's tree;
  http(s) URLs only when the network is allowed; each file parses;
- dependencies missing from charts/ are built with `helm dependency build`
  in a writable shadow of the tree: `file://` ones offline (a `file://` path
  must stay in the repository), repository ones only when the network is allowed;
- every name that goes on helm's command line follows its rule (release name,
  namespace, versions, dependency names: see gitward.model.names), and
  positional arguments come after `--`: `releaseName: --post-renderer=sh`
  would otherwise make helm pipe the chart into a shell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.model import HelmSource, names
from gitward.render import pull
from gitward.render.argv import checked
from gitward.render.documents import read_documents
from gitward.render.job import Job
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.tools import Completed, secretish
from gitward.render.trees import escaping_links, resolve_within, shadow, shown
from gitward.render.validate import (
    Origin,
    Placed,
    check_duplicates,
    objects_from_output,
    read_file_documents,
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# helm's own positions: `(chart/templates/x.yaml:12:5)` or `template: chart/templates/x.yaml:12:5:`
_POSITION = re.compile(
    r"(?:\(|template: )(?P<file>[^\s():]+\.(?:yaml|yml|tpl|txt|json)):(?P<line>\d+)(?::(?P<col>\d+))?"
)
_SOURCE = "# Source: "


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    # Where each value came from, for the message when one breaks its rule.
    name_field: str = "helm.releaseName"
    namespace_field: str = "helm.namespace"
    kube_version_field: str = "helm.kubeVersion"

    def flags(self) -> list[str]:
        """helm template's release flags, each checked; `--flag=value` so a value is never a flag."""
        checked(self.name, names.release_name, f"the release name ({self.name_field})")
        args: list[str] = []
        if self.namespace:
            checked(self.namespace, names.namespace, f"the namespace ({self.namespace_field})")
            args.append(f"--namespace={self.namespace}")
        if self.kube_version:
            checked(
                self.kube_version, names.kube_version, f"the Kubernetes version ({self.kube_version_field})"
            )
            args.append(f"--kube-version={self.kube_version}")
        for api in self.api_versions:
            checked(api, names.api_version, "an API version (helm.apiVersions)")
            args.append(f"--api-versions={api}")
        return args


def render_helm(
    job: Job,
    root: Path,
    chart: Path,
    spec: HelmSource,
    release: Release,
    refs: Mapping[str, Path],
) -> list[Placed]:
    """The validated objects `helm template` makes of the chart folder `chart` under the tree `root`."""
    problems: list[Problem] = []
    chart_file = chart / "Chart.yaml"
    where = shown(chart_file, root)
    job.paths[str(root)] = ""
    metadata = _chart_metadata(chart_file, where, job, problems)
    if metadata is None:
        raise ValidationFailed(problems)
    problems.extend(escaping_links(chart, root))
    builds = _dependency_builds(job, root, chart, metadata, problems, set())
    value_args = _value_files(job, root, chart, spec, refs, problems)
    value_args += _inline_values(job, spec, problems)
    if problems:
        raise ValidationFailed(problems)
    set_args = _parameters(job, spec)
    release_args = release.flags()

    chart_dir = chart
    if builds:
        work = shadow(root, job.scratch / "tree", [chart, *(b for b, _ in builds)])
        job.paths[str(work)] = ""
        for folder, remote in builds:
            copy = work / folder.relative_to(root)
            args = ["dependency", "build"]
            if not remote:
                args.append("--skip-refresh")  # file:// only: nothing to download
            args += ["--", str(copy)]
            completed = job.run(
                "helm",
                args,
                cwd=job.scratch,
                where=shown(folder / "Chart.yaml", root),
                what="helm dependency build",
            )
            if completed.returncode != 0:
                raise job.failed(completed, shown(folder / "Chart.yaml", root), "helm dependency build")
        chart_dir = work / chart.relative_to(root)

    args = ["template", *release_args]
    if not spec.skip_crds:
        args.append("--include-crds")
    args += [*value_args, *set_args, "--", release.name, str(chart_dir)]
    completed = job.run("helm", args, cwd=job.scratch, where=where, what="helm template")
    if completed.returncode != 0:
        raise _template_failure(job, completed, chart, root, where)
    text = completed.stdout.decode("utf-8", errors="replace")
    placed = objects_from_output(
        text, "helm template", _origin(text, shown(chart, root), where), job.limits, problems
    )
    check_duplicates(placed, problems)
    if problems:
        raise ValidationFailed(problems)
    return placed


def _chart_metadata(chart_file: Path, where: str, job: Job, problems: list[Problem]) -> dict[str, Any] | None:
    if not chart_file.is_file():
        problems.append(Problem(where, 0, 0, "no Chart.yaml: not a Helm chart folder"))
        return None
    documents = read_file_documents(chart_file, where, job.limits, problems)
    if documents is None:
        return None
    values = [d.value for d in documents if d.value is not None]
    if len(values) != 1 or not isinstance(values[0], dict) or not isinstance(values[0].get("name"), str):
        problems.append(Problem(where, 1, 1, "Chart.yaml must be one object with a name"))
        return None
    metadata: dict[str, Any] = values[0]
    # apiVersion v1 charts list dependencies in requirements.yaml.
    requirements = chart_file.with_name("requirements.yaml")
    if "dependencies" not in metadata and requirements.is_file():
        found = read_file_documents(
            requirements, where.replace("Chart.yaml", "requirements.yaml"), job.limits, problems
        )
        if found and isinstance(found[0].value, dict):
            metadata["dependencies"] = found[0].value.get("dependencies")
    return metadata


def _dependency_builds(
    job: Job, root: Path, chart: Path, metadata: Mapping[str, Any], problems: list[Problem], seen: set[Path]
) -> list[tuple[Path, bool]]:
    """Chart folders needing `helm dependency build` (dependencies first), each with "needs the network"."""
    if chart in seen:
        return []
    seen.add(chart)
    where = shown(chart / "Chart.yaml", root)
    dependencies = metadata.get("dependencies") or []
    if not isinstance(dependencies, list):
        problems.append(Problem(where, 0, 0, "dependencies must be a list"))
        return []
    builds: list[tuple[Path, bool]] = []
    missing = False
    remote = False
    for i, dependency in enumerate(dependencies):
        if not isinstance(dependency, dict) or not isinstance(dependency.get("name"), str):
            problems.append(Problem(where, 0, 0, f"dependencies[{i}] must be an object with a name"))
            continue
        name = dependency["name"]
        repository = str(dependency.get("repository") or "")
        why = names.chart_name(name, path=False)
        if why is not None:
            # The name becomes a path under charts/ (and helm's): it must not climb out of it.
            problems.append(Problem(where, 0, 0, f"dependencies[{i}].name {name!r}: {why}"))
            continue
        if _vendored(chart / "charts", name):
            continue
        missing = True
        if repository.startswith("file://"):
            target, why = resolve_within(root, chart, repository.removeprefix("file://"))
            if target is None or not (target / "Chart.yaml").is_file():
                problems.append(
                    Problem(where, 0, 0, f"dependency {name} {repository}: {why or 'not a chart folder'}")
                )
                continue
            problems.extend(escaping_links(target, root))
            sub = _chart_metadata(target / "Chart.yaml", shown(target / "Chart.yaml", root), job, problems)
            if sub is not None:
                builds += _dependency_builds(job, root, target, sub, problems, seen)
        elif not repository:
            problems.append(
                Problem(where, 0, 0, f"dependency {name} is not in charts/ and names no repository")
            )
        elif not job.network:
            problems.append(
                Problem(
                    where,
                    0,
                    0,
                    f"dependency {name} from {repository} is not in charts/, and fetching it needs the "
                    "network, which rendering is not allowed to use (vendor it into charts/)",
                )
            )
        else:
            remote = True
    if missing:
        builds.append((chart, remote))
    return builds


def _vendored(charts: Path, name: str) -> bool:
    if (charts / name / "Chart.yaml").is_file():
        return True
    return charts.is_dir() and any(charts.glob(f"{glob_escape(name)}-*.tgz"))


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _value_files(
    job: Job, root: Path, chart: Path, spec: HelmSource, refs: Mapping[str, Path], problems: list[Problem]
) -> list[str]:
    args: list[str] = []
    for i, entry in enumerate(spec.value_files):
        field = f"spec helm.valueFiles[{i}]"
        scheme = _SCHEME.match(entry)
        if scheme:
            if scheme.group(1).lower() not in ("http", "https"):
                problems.append(Problem(entry, 0, 0, f"{field}: the {scheme.group(1)} scheme is not allowed"))
            elif not job.network:
                problems.append(
                    Problem(
                        entry,
                        0,
                        0,
                        f"{field}: a remote values file needs the network, "
                        "which rendering is not allowed to use",
                    )
                )
            else:
                args.append(f"--values={entry}")
            continue
        if entry.startswith("$"):
            name, _, rest = entry[1:].partition("/")
            base = refs.get(name)
            if base is None:
                problems.append(Problem(entry, 0, 0, f"{field}: no source has ref: {name}"))
                continue
            top, start, relative = base, base, rest
        elif entry.startswith("/"):
            # Argo CD reads an absolute path from the repository's top, never from the host.
            top, start, relative = root, root, entry.lstrip("/")
        else:
            top, start, relative = root, chart, entry
        target, why = resolve_within(top, start, relative)
        if target is None:
            if why.startswith("no such") and spec.ignore_missing_value_files:
                continue
            problems.append(Problem(entry, 0, 0, f"{field} {entry!r}: {why}"))
            continue
        if not target.is_file():
            problems.append(Problem(entry, 0, 0, f"{field} {entry!r}: not a file"))
            continue
        label = shown(target, top) if top == root else f"${entry[1:].partition('/')[0]}/{shown(target, top)}"
        if top != root:
            job.paths.setdefault(str(top), f"${entry[1:].partition('/')[0]}")
        documents = read_file_documents(target, label, job.limits, problems)
        for document in documents or []:
            _collect_secrets(document.value, job.secrets)
        args.append(f"--values={target}")
    return args


def _inline_values(job: Job, spec: HelmSource, problems: list[Problem]) -> list[str]:
    # Argo CD: valuesObject, when set, wins over values.
    if spec.values_object:
        path = job.scratch / "values-object.json"
        path.write_text(json.dumps(spec.values_object))
        _collect_secrets(spec.values_object, job.secrets)
        job.paths[str(path)] = "spec helm.valuesObject"
        return [f"--values={path}"]
    if spec.values.strip():
        documents, found = read_documents(spec.values, "spec helm.values", limits=job.limits)
        if found:
            problems.extend(found)
            return []
        values = [d.value for d in documents if d.value is not None]
        if len(values) > 1 or (values and not isinstance(values[0], dict)):
            problems.append(Problem("spec helm.values", 1, 1, "values must be one YAML object"))
            return []
        for value in values:
            _collect_secrets(value, job.secrets)
        path = job.scratch / "values.yaml"
        path.write_text(spec.values)
        job.paths[str(path)] = "spec helm.values"
        return [f"--values={path}"]
    return []


def _parameters(job: Job, spec: HelmSource) -> list[str]:
    args: list[str] = []
    for i, parameter in enumerate(spec.parameters):
        field = f"helm.parameters[{i}]"
        checked(parameter.name, names.parameter_name, f"{field}.name")
        checked(parameter.value, names.argument, f"{field}.value", show=False)
        if secretish(parameter.name.rsplit(".", 1)[-1]):
            job.secrets.add(parameter.value)
        flag = "--set-string" if parameter.force_string else "--set"
        args.append(f"{flag}={parameter.name}={_escape_commas(parameter.value)}")
    return args


def _escape_commas(value: str) -> str:
    """As Argo CD: `,` separates --set pairs, so escape it, unless the value is a `{a,b}` list."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def _collect_secrets(value: object, into: set[str], inherited: bool = False) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect_secrets(item, into, inherited or (isinstance(key, str) and secretish(key)))
    elif isinstance(value, list):
        for item in value:
            _collect_secrets(item, into, inherited)
    elif inherited and isinstance(value, str):
        into.add(value)


def _origin(text: str, chart_shown: str, default: str) -> Origin:
    """Document -> the template it came from, from helm's `# Source: chart/templates/x.yaml` lines."""
    sources: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(_SOURCE):
            sources.append((number, _chart_path(line[len(_SOURCE) :].strip(), chart_shown)))

    def origin(_index: int, line: int) -> str:
        found = default
        for number, source in sources:
            if number > line:
                break
            found = source
        return found

    return origin


def _chart_path(path: str, chart_shown: str) -> str:
    """`mychart/templates/x.yaml` (helm names the chart) -> the file's path in the repository."""
    rest = path.partition("/")[2]
    if chart_shown in ("", "."):
        return rest or path
    return f"{chart_shown}/{rest}" if rest else chart_shown


def _template_failure(
    job: Job, completed: Completed, chart: Path, root: Path, where: str
) -> ValidationFailed:
    message = job.message(completed)
    found = _POSITION.search(message)
    if found:
        file = _chart_path(found.group("file"), shown(chart, root))
        line = int(found.group("line"))
        column = int(found.group("col") or 0)
        return ValidationFailed([Problem(file, line, column, f"helm template failed: {message}")])
    return ValidationFailed([Problem(where, 0, 0, f"helm template failed: {message}")])


# Kept importable from here for callers that predate gitward.render.pull.
exact_version = pull.exact_version
