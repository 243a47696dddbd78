"""Pulling a chart from a Helm repository (index.yaml over HTTP) or an OCI registry, with credentials.

Credentials never reach helm's command line (any local user can read it):
- an OCI registry's login is a Docker-style `registry/config.json` in the
  render's private HELM_CONFIG_HOME, which `helm pull oci://...` reads;
- an HTTP repository's login is an entry of `repositories.yaml` there:
  `helm repo update` fetches the index with it and `helm pull repo/chart`
  downloads the archive with it. `helm pull --repo URL` would take them only
  as flags.
Both files are 0600 in the render's scratch folder, deleted with it, and the
password is redacted from every message.

The chart name and version are checked before anything uses them (they name
folders of the chart cache and go on helm's command line, after `--`), and
helm pulls with the network: the chart is the source itself, as a Git
repository is, while `helm template` then runs without it.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gitward.model import names
from gitward.render.argv import checked, positional
from gitward.render.charts import chart_folder, store_chart
from gitward.render.job import Job
from gitward.render.tools import Completed, RenderError, helm_config_home

_EXACT = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_REPO_NAME = "gitward"  # the one repository a render's private helm config knows


@dataclass(frozen=True)
class ChartAccess:
    """How to reach one chart repository: Argo CD's `type: helm` repository Secret fields."""

    username: str = ""
    password: str = field(default="", repr=False)
    # enableOCI: the repository is an OCI registry although its URL has no oci:// scheme.
    oci: bool = False
    # insecureOCIForceHttp: the registry speaks plain HTTP.
    plain_http: bool = False


def exact_version(revision: str) -> bool:
    """Whether a chart version names one release (cacheable forever) rather than a range."""
    return bool(_EXACT.match(revision.strip()))


def is_oci(repo_url: str, access: ChartAccess | None) -> bool:
    return repo_url.startswith("oci://") or bool(access and access.oci)


def pull_chart(
    job: Job, charts: Path, repo_url: str, chart: str, version: str, access: ChartAccess | None = None
) -> tuple[Path, str]:
    """The chart folder (read-only, cached by URL, chart and exact version) and its version.

    An exact version already pulled costs nothing; otherwise helm pulls it
    (resolving a version range against the repository's index or tags).
    """
    access = access or ChartAccess()
    oci = is_oci(repo_url, access)
    checked(chart, lambda c: names.chart_name(c, path=oci), "source.chart")
    checked(version, names.revision, "source.targetRevision")
    if "/" in chart:
        # An OCI chart named by a path: the same chart as the last part under a longer repository URL,
        # so every cache folder is named by one checked part.
        prefix, _, chart = chart.rpartition("/")
        repo_url = f"{repo_url.rstrip('/')}/{prefix}"
    if exact_version(version):
        cached = chart_folder(charts, repo_url, chart, version.lstrip("v"))
        if cached is not None:
            return cached
    if access.password:
        job.secrets.add(access.password)
        job.secrets.add(base64.b64encode(f"{access.username}:{access.password}".encode()).decode())
    into = job.scratch / "pull"
    into.mkdir()
    where = f"{repo_url} {chart}"
    flags = ["--untar", f"--untardir={into}"]
    if version and version != "HEAD":
        flags.append(f"--version={version}")
    if oci:
        reference = f"oci://{repo_url.removeprefix('oci://').strip('/')}/{chart}"
        if access.username or access.password:
            _write_private(_config_home(job) / "registry" / "config.json", _registry_config(repo_url, access))
        if access.plain_http:
            flags.append("--plain-http")
    elif access.username or access.password:
        _write_private(_config_home(job) / "repositories.yaml", _repositories(repo_url, access))
        updated = job.run(
            "helm",
            ["repo", "update", "--fail-on-repo-update-fail", "--", _REPO_NAME],
            cwd=job.scratch,
            where=where,
            what="helm repo",
            network=True,
        )
        if updated.returncode != 0:
            raise _failure(job, chart, version, repo_url, _update_failure(updated), access)
        reference = f"{_REPO_NAME}/{chart}"
    else:
        flags.append(f"--repo={repo_url}")
        reference = chart
    args = ["pull", *flags, "--", positional(reference, "source.chart")]
    completed = job.run("helm", args, cwd=job.scratch, where=where, what="helm pull", network=True)
    if completed.returncode != 0:
        raise _failure(job, chart, version, repo_url, completed.stderr, access)
    return store_chart(charts, repo_url, chart, into)


def _failure(
    job: Job, chart: str, version: str, repo_url: str, output: bytes, access: ChartAccess
) -> RenderError:
    message = job.message(Completed(1, b"", output))
    refused = any(m in message.lower() for m in ("401", "403", "unauthorized", "credential not found"))
    if refused and not (access.username or access.password):
        message += " (no credentials were given for this repository)"
    return RenderError(f"cannot pull chart {chart} {version or 'latest'} from {repo_url}: {message}")


def _update_failure(completed: Completed) -> bytes:
    """`helm repo update` says why on stdout, on the line after "Unable to get an update ..."."""
    lines = completed.stdout.decode(errors="replace").splitlines()
    for i, line in enumerate(lines[:-1]):
        if "Unable to get an update" in line:
            return f"Error: {lines[i + 1].strip()}".encode()
    return completed.stderr


def _config_home(job: Job) -> Path:
    return helm_config_home(job.scratch)


def _registry_config(repo_url: str, access: ChartAccess) -> str:
    host = repo_url.removeprefix("oci://").split("/", 1)[0]
    auth = base64.b64encode(f"{access.username}:{access.password}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth}}})


def _repositories(repo_url: str, access: ChartAccess) -> str:
    # JSON is YAML; helm reads this file with its YAML parser.
    entry = {"name": _REPO_NAME, "url": repo_url, "username": access.username, "password": access.password}
    return json.dumps({"apiVersion": "", "repositories": [entry]})


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
