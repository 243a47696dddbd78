"""Repository URLs: one normal form, and a refusal for every spelling that could mean two things.

A repoURL comes from a tenant, and three decisions are taken on it: may the
app's project use it (`sourceRepos`), which repository Secret's credentials
git gets for it (by exact URL or segment prefix), and which mirror holds its
objects. If each of these read the URL differently from git or from the Git
server, `https://host/team-a/../team-b/x` would pass as a `team-a` repository
and be fetched as `/team-b/x` with team-a's token. So:

- `normalise` applies RFC 3986 normalisation (scheme and host lower-case,
  default port removed, percent-encoded unreserved characters decoded, other
  escapes in upper-case hex) and REFUSES, with RepoURLError, anything a server,
  a proxy or git itself might read otherwise: dot segments (also encoded),
  encoded `/`, `\\` or `%`, backslashes, empty segments, a query or fragment,
  control characters, a leading `-`, several `@`. Only the https, http, ssh
  (and scp-like `user@host:path`) and git transports are accepted; `file://`
  and bare local paths only when the operator opts in (`local_repos_allowed`).
- `match_key` is what every matcher compares (projects, credentials,
  webhooks): the normal form, lower-case, without user-info, `.git` or a
  trailing `/`. It never sees a URL `normalise` refused.

Pure functions, no I/O, except `local_repos_allowed`, which reads the one
setting that says whether local repositories may be used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote

# The operator's opt-in to file:// and local paths (local development only): read by the
# model when it checks a spec and by gitward.source when it runs git, so both always agree.
ALLOW_LOCAL_ENV = "GITWARD_ALLOW_LOCAL_REPOS"

GIT_TRANSPORTS = ("https", "http", "ssh", "git")
# A chart source's repoURL is a Helm repository (http/https) or an OCI registry.
CHART_SCHEMES = ("https", "http", "oci")
_DEFAULT_PORTS = {"https": "443", "http": "80", "ssh": "22", "git": "9418", "oci": "443"}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# git's `<transport>::<address>` form (ext::, fd::, any remote helper): never a plain URL.
_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*::")
_HOST = re.compile(r"^(?:[a-z0-9_~]|[a-z0-9_~][a-z0-9._~-]*[a-z0-9_~])$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_USER = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:%-]+$")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters a path segment may hold as they are (RFC 3986 pchar, without '%', handled apart).
_PCHAR = _UNRESERVED | frozenset("!$&'()*+,;=:@")
# Escapes that would let one spelling mean another path once a server decodes them.
_REFUSED_ESCAPES = {
    "2E": "an encoded '.'",
    "2F": "an encoded '/'",
    "5C": "an encoded '\\'",
    "25": "an encoded '%'",
}


class RepoURLError(ValueError):
    """A repository URL that is refused; the message says why, and never repeats user-info."""


@dataclass(frozen=True)
class _Parts:
    scheme: str  # "" for scp-like ("ssh") and local paths ("file")
    user: str
    host: str
    port: str
    path: str
    scp: bool = False


def local_repos_allowed() -> bool:
    """Whether the operator opted in to file:// and local-path repositories (GITWARD_ALLOW_LOCAL_REPOS=1)."""
    return os.environ.get(ALLOW_LOCAL_ENV, "").strip().lower() in ("1", "true", "yes")


def normalise(url: str, *, allow_local: bool = False, chart: bool = False) -> str:
    """The RFC 3986 normal form of a repository URL, or RepoURLError when it is refused.

    `allow_local`: accept file:// and local paths (the operator's opt-in).
    `chart`: a chart source's repoURL (Helm repository or OCI registry), not a Git one.
    """
    return _render(_parse(url, allow_local=allow_local, chart=chart))


def match_key(url: str, *, chart: bool = False) -> str:
    """What matchers compare: the normal form, lower-case, without user-info, `.git` or a trailing `/`.

    Local URLs and every transport gitward knows (git's and charts') are
    accepted here (whether they may be fetched is `normalise`'s question): a
    key only ever names the repository. Ambiguous spellings are still refused.
    """
    parts = _parse(url, allow_local=True, chart=chart, keying=True)
    plain = _Parts(parts.scheme, "", parts.host, parts.port, parts.path, parts.scp)
    return _render(plain).lower().rstrip("/").removesuffix(".git").rstrip("/")


def pattern_key(pattern: str) -> str:
    """A `sourceRepos` glob in the form `match_key` gives URLs, so that the two compare.

    A pattern is not a URL (`*`, `?`, `{a,b}`), so it is only lower-cased and
    stripped of user-info, default port, `.git` and a trailing `/`; what it
    cannot be matched against is decided by `match_key` refusing the URL.
    """
    text = pattern.strip().lower()
    found = _SCHEME.match(text)
    if found:
        scheme = found.group(1)
        rest = text[found.end() :]
        authority, slash, path = rest.partition("/")
        host = authority.rpartition("@")[2] if "[" not in authority.rpartition("@")[0] else authority
        port = _DEFAULT_PORTS.get(scheme)
        if port and host.endswith(f":{port}"):
            host = host.removesuffix(f":{port}")
        text = f"{scheme}://{host}{slash}{path}"
    elif (scp := re.match(r"^[^@/:]+@([^/:]+:.*)$", text)) is not None:
        text = scp.group(1)
    return text.rstrip("/").removesuffix(".git").rstrip("/")


def local_path(url: str) -> str | None:
    """The file-system path a file:// URL or a local path names (escapes decoded), else None."""
    parts = _parse(url, allow_local=True, chart=False, keying=True)
    if parts.scheme not in ("file", "file-path"):
        return None
    return unquote(parts.path)


def under(url_key: str, prefix_key: str) -> bool:
    """Whether `url_key` is `prefix_key` or below it, on whole path segments (`team-a` is not `team-ab`)."""
    prefix = prefix_key.rstrip("/")
    return url_key == prefix or (bool(prefix) and url_key.startswith(prefix + "/"))


# --- parsing ------------------------------------------------------------------------------------


def _parse(url: str, *, allow_local: bool, chart: bool, keying: bool = False) -> _Parts:
    if not isinstance(url, str):
        raise RepoURLError(f"expected a string, got {type(url).__name__}")
    if not url:
        raise RepoURLError("is empty")
    if _HELPER.match(url):
        raise RepoURLError(
            f"the {url.split('::', 1)[0]!r}:: transport is not allowed; use {_allowed(chart, allow_local)}"
        )
    if url.startswith("-"):
        raise RepoURLError("starts with '-' (git would read it as an option)")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise RepoURLError("contains whitespace or a control character")
    if not url.isascii():
        raise RepoURLError("contains non-ASCII characters (percent-encode them)")
    if "\\" in url:
        raise RepoURLError("contains a backslash")
    found = _SCHEME.match(url)
    if found:
        return _parse_hierarchical(found.group(1).lower(), url[found.end() :], allow_local, chart, keying)
    head = url.split("/", 1)[0]
    if ":" in head and not chart:
        return _parse_scp(url)
    if chart and "/" in url and not url.startswith(("/", ".", "~")):
        # An OCI reference without a scheme (`registry.example/charts`, Argo CD's enableOCI).
        hostport, _, path = url.partition("/")
        host, port = _split_port(hostport, "oci")
        return _Parts("", "", _host(host, "oci"), port, _path("/" + path))
    if not allow_local:
        raise RepoURLError(
            "is a local path; local repositories are not allowed "
            f"(use {_allowed(chart, allow_local)}, or the operator's {ALLOW_LOCAL_ENV}=1 opt-in)"
        )
    return _Parts("file-path", "", "", "", _path(url, relative=True))


def _allowed(chart: bool, allow_local: bool) -> str:
    names = list(CHART_SCHEMES if chart else GIT_TRANSPORTS)
    if allow_local:
        names.append("file")
    return ", ".join(names) + ("" if chart else " (or scp-like user@host:path)")


def _parse_hierarchical(scheme: str, rest: str, allow_local: bool, chart: bool, keying: bool) -> _Parts:
    allowed: tuple[str, ...] = CHART_SCHEMES if chart else GIT_TRANSPORTS
    if keying:
        allowed = (*GIT_TRANSPORTS, *CHART_SCHEMES)
    if scheme == "file" and (keying or not chart):
        if not allow_local:
            raise RepoURLError(
                "the file transport is not allowed "
                f"(use {_allowed(chart, False)}, or the operator's {ALLOW_LOCAL_ENV}=1 opt-in)"
            )
    elif scheme not in allowed:
        raise RepoURLError(f"the {scheme!r} transport is not allowed; use {_allowed(chart, allow_local)}")
    if "?" in rest or "#" in rest:
        raise RepoURLError("has a query or fragment ('?' or '#'), which a repository URL never needs")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if "@" in userinfo:
        raise RepoURLError("has more than one '@' in its authority")
    if at and not userinfo:
        raise RepoURLError("has an empty user-info before '@'")
    if userinfo and not _USER.match(userinfo):
        raise RepoURLError("has characters in its user-info that must be percent-encoded")
    if userinfo:
        _escapes(userinfo, "user-info")
    if scheme == "file":
        if hostport not in ("", "localhost") or userinfo:
            raise RepoURLError("a file:// URL names no host (file:///path)")
        return _Parts("file", "", "", "", _path(slash + path))
    host, port = _split_port(hostport, scheme)
    if userinfo.startswith("-"):
        raise RepoURLError("its user name starts with '-' (ssh would read it as an option)")
    return _Parts(scheme, userinfo, _host(host, scheme), port, _path(slash + path))


def _split_port(hostport: str, scheme: str) -> tuple[str, str]:
    if hostport.startswith("["):
        host, bracket, after = hostport.partition("]")
        host += bracket
        if after and not after.startswith(":"):
            raise RepoURLError("has text after its IPv6 address")
        port = after[1:]
    else:
        host, _, port = hostport.partition(":") if ":" in hostport else (hostport, "", "")
        if ":" in port:
            raise RepoURLError("has more than one ':' in its host and port")
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise RepoURLError("has a port that is not a number from 1 to 65535")
        port = str(int(port))
        if port == _DEFAULT_PORTS.get(scheme):
            port = ""
    elif ":" in hostport and not hostport.startswith("["):
        raise RepoURLError("has an empty port after ':'")
    return host.lower(), port


def _host(host: str, scheme: str) -> str:
    if not host:
        raise RepoURLError(f"a {scheme} URL needs a host")
    if host.startswith("-"):
        raise RepoURLError("its host starts with '-' (ssh would read it as an option)")
    if not (_HOST.match(host) or _IPV6.match(host)):
        raise RepoURLError("its host has characters a host name cannot have")
    return host


def _parse_scp(url: str) -> _Parts:
    """`[user@]host:path`, git's scp-like ssh syntax (no scheme; a ':' before the first '/')."""
    head, _, path = url.partition(":")
    if head.startswith("["):  # [host]:path or [user@host]:path: git's bracketed form
        raise RepoURLError("bracketed scp-like hosts are not supported; use ssh://")
    user, at, host = head.rpartition("@")
    if at and (not user or "@" in user):
        raise RepoURLError("has an empty or repeated user name before '@'")
    if user and not _USER.match(user):
        raise RepoURLError("has characters in its user name that must be percent-encoded")
    if user.startswith("-"):
        raise RepoURLError("its user name starts with '-' (ssh would read it as an option)")
    if not path or path.startswith("-"):
        raise RepoURLError("an scp-like URL needs a path after ':' that does not start with '-'")
    return _Parts("", user, _host(host.lower(), "ssh"), "", _path(path, relative=True), scp=True)


def _escapes(text: str, where: str) -> str:
    """`text` with escapes of unreserved characters decoded and hex in upper case; refuses bad ones."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        code = text[i + 1 : i + 3].upper()
        if len(code) != 2 or any(c not in "0123456789ABCDEF" for c in code):
            raise RepoURLError(f"has a '%' in its {where} that is not a percent-escape")
        if code in _REFUSED_ESCAPES:
            raise RepoURLError(f"has {_REFUSED_ESCAPES[code]} ({'%' + code}) in its {where}")
        value = int(code, 16)
        if value < 0x20 or value == 0x7F:
            raise RepoURLError(f"has an encoded control character in its {where}")
        decoded = chr(value)
        out.append(decoded if decoded in _UNRESERVED else "%" + code)
        i += 3
    return "".join(out)


def _path(path: str, *, relative: bool = False) -> str:
    """The path with escapes normalised; refuses dot segments and empty segments.

    Dot segments are refused rather than removed (RFC 3986 section 5.2.4 would
    remove them): a URL that normalisation would shorten is one that somebody
    spelled to be read two ways, and it must be spelled as what it fetches.
    """
    if not path:
        return path
    segments = path.split("/")
    for i, segment in enumerate(segments):
        if any(c not in _PCHAR and c != "%" for c in segment):
            raise RepoURLError("has characters in its path that must be percent-encoded")
        decoded = _escapes(segment, "path")
        if decoded in (".", "..") or segment in (".", ".."):
            raise RepoURLError("has a '.' or '..' path segment; spell the path it means")
        first = i == 0 and (not relative or segment == "")
        last = i == len(segments) - 1
        if not decoded and not first and not last:
            raise RepoURLError("has an empty path segment ('//')")
        segments[i] = decoded
    if relative and segments[0].startswith("~"):
        raise RepoURLError("has a path starting with '~'")
    return "/".join(segments)


def _render(parts: _Parts) -> str:
    if parts.scheme == "file-path":
        return parts.path
    user = f"{parts.user}@" if parts.user else ""
    if parts.scp:
        return f"{user}{parts.host}:{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    if parts.scheme == "":  # a scheme-less OCI reference
        return f"{parts.host}{port}{parts.path}"
    return f"{parts.scheme}://{user}{parts.host}{port}{parts.path}"
