"""Repository credentials from labelled Secrets, matched to the URLs apps fetch.

Two kinds, as Argo CD has them: a `repository` Secret holds the credentials of
one URL; a `repo-creds` Secret is a template whose `url` is a prefix, so one
Secret serves every repository of an organisation. An exact `repository`
match wins, then the longest matching prefix. A Secret that cannot be used is
reported by its name and the field at fault, never by its values.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.kube import Change, Discovery, KubeError, Reflector, Store
from gitward.kube.connection import Connection
from gitward.model.repo_url import RepoURLError, match_key, under
from gitward.render import ChartAccess
from gitward.source import Credentials

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
    # Argo CD's `type` (git or helm), `enableOCI` and `insecureOCIForceHttp`, for chart sources.
    type: str = "git"
    enable_oci: bool = False
    insecure_oci_force_http: bool = False

    def chart_access(self) -> ChartAccess:
        """How the renderer reaches this repository when it is a chart source's repoURL."""
        return ChartAccess(
            username=self.credentials.username,
            password=self.credentials.password,
            oci=self.enable_oci,
            plain_http=self.insecure_oci_force_http,
        )


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
    kind_of_repo = data.get("type", "git").strip() or "git"
    if kind_of_repo not in ("git", "helm"):
        raise CredentialSecretError(f"Secret {origin}: field `type` must be git or helm")
    try:
        match_key(url, chart=kind_of_repo == "helm")
    except RepoURLError as problem:
        # Said here, by name: otherwise the Secret would silently serve no repository.
        raise CredentialSecretError(f"Secret {origin}: field `url` {problem}") from None
    return RepoCredential(
        url=url,
        credentials=credentials,
        template=kind == TEMPLATE,
        origin=origin,
        type=kind_of_repo,
        enable_oci=_flag(data, "enableOCI", origin),
        insecure_oci_force_http=_flag(data, "insecureOCIForceHttp", origin),
    )


def _flag(data: Mapping[str, str], key: str, origin: str) -> bool:
    value = data.get(key, "false").strip().lower()
    if value not in ("true", "false", ""):
        raise CredentialSecretError(f'Secret {origin}: field `{key}` must be "true" or "false"')
    return value == "true"


def match(known: Iterable[RepoCredential], url: str) -> RepoCredential | None:
    """The credential for `url`: an exact repository first, else the longest template prefix.

    Both sides are compared by gitward.model.repo_url.match_key, prefixes on whole
    path segments; a URL it refuses (`team-a/../team-b`, `%2e%2e`) gets no credential.
    """
    try:
        wanted = match_key(url)
    except RepoURLError:
        return None
    best: tuple[int, RepoCredential] | None = None
    for candidate in known:
        try:
            have = match_key(candidate.url)
        except RepoURLError:
            continue  # a Secret whose url is refused serves no repository
        if not candidate.template and have == wanted:
            return candidate
        if candidate.template and under(wanted, have) and (best is None or best[0] < len(have)):
            best = (len(have), candidate)
    return best[1] if best else None


def chart_access_for(known: Iterable[RepoCredential], repo_urls: Iterable[str]) -> dict[str, ChartAccess]:
    """For the renderer: how to reach each chart repository that a repository Secret matches."""
    known = list(known)
    found = {url: match(known, url) for url in repo_urls}
    return {url: chosen.chart_access() for url, chosen in found.items() if chosen is not None}


async def load(connection: Connection, namespace: str) -> tuple[list[RepoCredential], list[str]]:
    """Every usable credential in `namespace`, and a message per Secret that is not usable."""
    return parse(await _labelled_secrets(connection, namespace))


def parse(secrets: Iterable[Mapping[str, Any]]) -> tuple[list[RepoCredential], list[str]]:
    """The usable credentials among `secrets` (unlabelled ones are skipped); what is wrong with the rest."""
    found: list[RepoCredential] = []
    problems: list[str] = []
    for secret in secrets:
        try:
            credential = from_secret(secret)
        except CredentialSecretError as problem:
            problems.append(str(problem))
            continue
        if credential is not None:
            found.append(credential)
    return found, problems


class WatchedCredentials:
    """The credentials of one namespace, kept current by a watch on its Secrets.

    The controller needs them on every reconcile: listing them each time cost
    two requests per app per pass (thousands per poll round with a thousand
    apps); the watch costs none, and they are parsed again only after a
    Secret changed.
    """

    def __init__(self, connection: Connection, discovery: Discovery, namespace: str) -> None:
        self.connection = connection
        self.discovery = discovery
        self.namespace = namespace
        # A store of its own: only this namespace's Secrets, never mixed with the shared watch cache.
        self.store = Store()
        self.store.subscribe(self._changed)
        self._reflector: Reflector | None = None
        self._parsed: tuple[list[RepoCredential], list[str]] | None = None

    def _changed(self, _: Change) -> None:
        self._parsed = None

    async def load(self, timeout: float = 30.0) -> tuple[list[RepoCredential], list[str]]:
        """As `load`, from the watched copies (the first call waits for the first list)."""
        if self._reflector is None:
            secrets = await self.discovery.resolve("v1", "Secret")
            self._reflector = Reflector(self.connection, secrets, self.store, namespace=self.namespace)
            self._reflector.start()
        if not self._reflector.synced.is_set():
            try:
                await asyncio.wait_for(self._reflector.synced.wait(), timeout)
            except TimeoutError:
                problem = self._reflector.last_error or "no answer"
                raise KubeError(
                    0, "Timeout", f"could not list Secrets in {self.namespace}: {problem}"
                ) from None
        if self._parsed is None:
            found = (self.store.get(key) for key in sorted(self.store.keys("", "Secret")))
            self._parsed = parse(secret for secret in found if secret is not None)
        return self._parsed

    async def aclose(self) -> None:
        if self._reflector is not None:
            await self._reflector.stop()
            self._reflector = None


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
