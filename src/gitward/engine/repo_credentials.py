"""Repository credentials from labelled Secrets, matched to the URLs apps fetch.

Two kinds, as Argo CD has them: a `repository` Secret holds the credentials of
one URL; a `repo-creds` Secret is a template whose `url` is a prefix, so one
Secret serves every repository of an organisation. An exact `repository`
match wins, then the longest matching prefix. A Secret that cannot be used is
reported by its name and the field at fault, never by its values.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.kube.connection import Connection
from gitward.source import Credentials, normalize_url

SECRET_TYPE_LABELS = ("gitward.dev/secret-type", "argocd.argoproj.io/secret-type")
REPOSITORY = "repository"
TEMPLATE = "repo-creds"


class CredentialSecretError(ValueError):
    """A labelled Secret that cannot be used: names the Secret and the field, never a value."""


@dataclass(frozen=True)
class RepoCredential:
    url: str
    credentials: Credentials
    template: bool
    # namespace/name of the Secret: what a condition or log may show.
    origin: str


def from_secret(secret: Mapping[str, Any]) -> RepoCredential | None:
    """The credential a Secret holds, or None when it is not labelled as one."""
    metadata = secret.get("metadata") or {}
    labels = metadata.get("labels") or {}
    kind = next((labels[k] for k in SECRET_TYPE_LABELS if k in labels), None)
    if kind not in (REPOSITORY, TEMPLATE):
        return None
    origin = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
    data = _decoded(secret.get("data") or {}, origin)
    url = data.get("url", "").strip()
    if not url:
        raise CredentialSecretError(f"Secret {origin}: field `url` is missing or empty")
    credentials = Credentials(
        username=data.get("username", ""),
        password=data.get("password", ""),
        token=data.get("bearerToken", ""),
        ssh_private_key=data.get("sshPrivateKey", ""),
        ssh_known_hosts=data.get("sshKnownHosts", ""),
    )
    return RepoCredential(url=url, credentials=credentials, template=kind == TEMPLATE, origin=origin)


def match(known: Iterable[RepoCredential], url: str) -> RepoCredential | None:
    """The credential for `url`: an exact repository first, else the longest template prefix."""
    wanted = normalize_url(url).lower()
    best: RepoCredential | None = None
    for candidate in known:
        have = normalize_url(candidate.url).lower()
        if not candidate.template and have == wanted:
            return candidate
        if (
            candidate.template
            and _under(wanted, have)
            and (best is None or len(normalize_url(best.url)) < len(have))
        ):
            best = candidate
    return best


async def load(connection: Connection, namespace: str) -> tuple[list[RepoCredential], list[str]]:
    """Every usable credential in `namespace`, and a message per Secret that is not usable."""
    found: list[RepoCredential] = []
    problems: list[str] = []
    for secret in await _labelled_secrets(connection, namespace):
        try:
            credential = from_secret(secret)
        except CredentialSecretError as problem:
            problems.append(str(problem))
            continue
        if credential is not None:
            found.append(credential)
    return found, problems


async def _labelled_secrets(connection: Connection, namespace: str) -> Sequence[Mapping[str, Any]]:
    seen: dict[str, Mapping[str, Any]] = {}
    for label in SECRET_TYPE_LABELS:
        answer = await connection.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/secrets",
            params={"labelSelector": f"{label} in ({REPOSITORY},{TEMPLATE})"},
        )
        for item in answer.get("items", []):
            seen.setdefault(item["metadata"]["name"], item)
    return [seen[name] for name in sorted(seen)]


def _under(url: str, prefix: str) -> bool:
    # A prefix matches whole path segments only: .../org must not match .../organisation.
    return url == prefix or url.startswith(prefix.rstrip("/") + "/")


def _decoded(data: Mapping[str, Any], origin: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialSecretError(
                f"Secret {origin}: field `{key}` is not base64-encoded UTF-8"
            ) from None
    return out
