"""URLs made safe to show: in metric labels, log lines, error messages and conditions.

A repoURL (or a destination server) is a tenant's string and may carry a
secret: `https://user:password@host/x`, `https://<token>@host/x`, or a token
in a query (`?private_token=...`). `redact_url` masks those parts and keeps
the rest readable. It works on any string, including ones `repo_url.normalise`
refuses, since what is shown is often exactly the URL that was refused; it
never raises.

Kept as they are: an ssh account name without a password (`git@host:x`,
`ssh://git@host/x`), which names an account, not a secret. Masked: any other
user-info (with a password, or on an http(s)/git URL, where a lone user name
is usually a token), and any query or fragment, which a repository URL
never needs.
"""

from __future__ import annotations

import re

MASK = "********"
# A URL inside free text (an error message, git's output): a scheme, then up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*(?:::[A-Za-z][A-Za-z0-9+.-]*)?://[^\s'"<>`]+""")
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")


def redact_url(url: str) -> str:
    """`url` with its user-info (except an ssh account name), query and fragment masked."""
    # The query or fragment starts at the first '?' or '#' after the scheme; a secret may sit in either.
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    address, tail = rest[:cut], rest[cut:]
    if tail:
        tail = tail[0] + MASK
    address = _redact_userinfo(scheme, address) if sep else _redact_scp(address)
    return f"{scheme}{sep}{address}{tail}"


def redact_text(text: str) -> str:
    """`text` with every `scheme://...` URL in it redacted: for messages built by code that did not."""
    return _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)


def _redact_userinfo(scheme: str, address: str) -> str:
    userinfo, at, after = address.rpartition("@")
    # Normally the user-info is all of the authority before '@'. A '/' before the '@' means
    # either a path holding '@' (no ':' before it: left alone) or a password with a stray '/'
    # (a ':' before it: masked, since showing it would leak what the author meant as a secret).
    if not at or ("/" in userinfo and ":" not in userinfo):
        return address
    if scheme.lower().rpartition("::")[2] in _SSH_SCHEMES and ":" not in userinfo:
        return address  # an ssh account name
    return f"{MASK}@{after}"


def _redact_scp(address: str) -> str:
    """git's scp-like `[user@]host:path` (or a local path): only a `user:password@` part is masked."""
    userinfo, at, after = address.rpartition("@")
    if at and ":" in userinfo and "/" not in userinfo.partition(":")[0]:
        return f"{MASK}@{after}"
    return address
