"""Rules for the spec values that end up on a command line of helm or kustomize.

An Application's author is not trusted. A value that reaches a tool's argv
(a release name, a namespace, a chart name, a version) could otherwise be
read by the tool as a flag: `releaseName: --post-renderer=sh` made helm pipe
the chart's output into a shell. Each rule here says what the value may be,
following Kubernetes' and Helm's own naming rules where they exist, so that a
bad spec is refused when it is parsed (an InvalidSpecError naming the field)
and again by the renderer right before it builds a command line.

Each check returns None for an acceptable value, else why it is not (a phrase
the caller puts after the field's name).
"""

from __future__ import annotations

import re

# Kubernetes' DNS-1123 label (namespaces): lower-case alphanumerics and '-', alphanumeric at both ends.
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
# Helm's release name rule: DNS-1123 labels joined by '.', at most 53 characters (Helm keeps 10 of
# Kubernetes' 63 for the suffixes charts add).
_RELEASE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
RELEASE_NAME_MAX = 53
NAMESPACE_MAX = 63
# A chart name (one path segment): letters, digits, '.', '_', '-', never starting with '.' or '-',
# so neither a flag nor '.'/'..'. An OCI chart may be a path of such segments.
_CHART_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
CHART_SEGMENT_MAX = 128
CHART_MAX = 253
# `--kube-version`: what Helm parses as a Kubernetes version (semver, `v` optional, minor/patch optional).
_KUBE_VERSION = re.compile(r"^v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# `--api-versions`: `v1`, `group/version` or `group/version/Kind`.
_API_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*(?:/[A-Za-z0-9][A-Za-z0-9.-]*){0,2}$")
# A chart version as stored (Chart.yaml's `version`, SemVer 2): also a path component of the cache.
_CHART_VERSION = re.compile(r"^v?[0-9A-Za-z][0-9A-Za-z.+_-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
VALUE_MAX = 1024


def _flag_like(value: str) -> str | None:
    if value.startswith("-"):
        return "must not start with '-' (it would be read as a command-line flag)"
    return None


def argument(value: str) -> str | None:
    """Any value passed on a command line: no control characters (a NUL cannot be passed at all)."""
    if _CONTROL.search(value):
        return "must not contain control characters"
    return None


def positional(value: str) -> str | None:
    """A positional argument: not empty, not flag-like, no control characters."""
    if not value:
        return "must not be empty"
    return _flag_like(value) or argument(value)


def release_name(value: str) -> str | None:
    """Helm's rule for a release name."""
    if len(value) > RELEASE_NAME_MAX:
        return f"must be at most {RELEASE_NAME_MAX} characters (Helm's limit for a release name)"
    if not _RELEASE.match(value):
        return (
            "must be a valid Helm release name: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def namespace(value: str) -> str | None:
    """Kubernetes' rule for a namespace name (a DNS-1123 label)."""
    if len(value) > NAMESPACE_MAX:
        return f"must be at most {NAMESPACE_MAX} characters (a Kubernetes namespace name)"
    if not _DNS_LABEL.match(value):
        return (
            "must be a valid namespace name: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def chart_name(value: str, *, path: bool = True) -> str | None:
    """A chart's name: one segment, or with `path` (an OCI repository) '/'-separated segments."""
    if len(value) > CHART_MAX:
        return f"must be at most {CHART_MAX} characters"
    segments = value.split("/")
    if len(segments) > 1 and not path:
        return "must be one name, without '/'"
    for segment in segments:
        if not segment:
            return "must not have an empty path segment"
        if len(segment) > CHART_SEGMENT_MAX:
            return f"must have path segments of at most {CHART_SEGMENT_MAX} characters"
        if not _CHART_SEGMENT.match(segment):
            return (
                "must be letters, digits, '.', '_' and '-' (with '/' between the parts of an OCI path), "
                "each part starting with a letter, digit or '_'"
            )
    return None


def chart_version(value: str) -> str | None:
    """One published chart version, as it names a folder of the chart cache."""
    if len(value) > CHART_SEGMENT_MAX:
        return f"must be at most {CHART_SEGMENT_MAX} characters"
    if not _CHART_VERSION.match(value):
        return "must be a version: letters, digits, '.', '+', '_' and '-', starting with a letter or digit"
    return None


def revision(value: str) -> str | None:
    """A targetRevision: a branch, tag, commit, chart version or version range (spaces allowed)."""
    if len(value) > VALUE_MAX:
        return f"must be at most {VALUE_MAX} characters"
    return _flag_like(value.strip()) or argument(value)


def kube_version(value: str) -> str | None:
    if not _KUBE_VERSION.match(value):
        return "must be a Kubernetes version such as 1.31 or v1.31.2"
    return None


def api_version(value: str) -> str | None:
    if len(value) > VALUE_MAX or not _API_VERSION.match(value):
        return "must be an API version such as v1, apps/v1 or example.com/v1/Thing"
    return None


def parameter_name(value: str) -> str | None:
    """A Helm parameter's name (the part of `--set name=value` before '=')."""
    if not value:
        return "must not be empty"
    if "=" in value:
        return "must not contain '='"
    return _flag_like(value) or argument(value)


def kustomize_value(value: str) -> str | None:
    """A value handed to `kustomize edit` (an image, a component, a name prefix)."""
    return _flag_like(value) or argument(value)
