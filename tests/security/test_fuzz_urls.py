"""Fuzzing repository URL normalisation (gitward.model.repo_url) with what a tenant may write as a repoURL.

Properties, for any string:
- `normalise` returns a string or raises its own RepoURLError, quickly; never another exception;
- it is idempotent, and `match_key` of the normal form is `match_key` of the original;
- an accepted normal form has no dot segment, encoded dot, encoded slash or backslash in its path;
- project and credential matching follow from it: a team-a allow entry or repo-creds prefix only
  ever serves a URL whose normal form is inside team-a, and prefixes end on segment boundaries.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.engine.project_policy import source_permitted
from gitward.engine.repo_credentials import RepoCredential, match
from gitward.model.project import AppProject, AppProjectSpec
from gitward.model.repo_url import RepoURLError, match_key, normalise, under
from gitward.source import Credentials

# Normalising a short string is microseconds; a second means a pathological path (a backtracking regex).
TIME_BOUND = 1.0
FUZZ = settings(
    max_examples=400,
    deadline=None,  # the bound is asserted per call: the shared machine makes hypothesis deadlines flaky
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

SCHEMES = ["https", "HTTP", "ssh", "git", "file", "ftp", "ext", "oci", ""]
SEGMENTS = [
    "team-a",
    "team-ab",
    "team-b",
    "x.git",
    "x",
    "..",
    ".",
    "",
    "%2e%2e",
    "%2E.",
    ".%2e",
    "%2e",
    "%2f",
    "%2F",
    "%5c",
    "%252e%252e",
    "%41",
    "%7e",
    "%",
    "%zz",
    "\\..",
    "~",
    "-x",
    "a b",
    "?",
    "#",
    "@",
    ":",
    "%00",
    "é",
]
HOSTS = ["git.example", "GIT.Example", "127.0.0.1", "[::1]", "-oProxyCommand=x", "a@b", "", "host:443", "h:0"]
USERS = ["", "git@", "bot:s3cret@", "a@b@", "-x@", "@"]

team_a_path = "/team-a"


@st.composite
def structured_urls(draw: st.DrawFn) -> str:
    """URLs built from the pieces attacks are made of (dot segments, escapes, user-info, odd hosts)."""
    scheme = draw(st.sampled_from(SCHEMES))
    user = draw(st.sampled_from(USERS))
    host = draw(st.sampled_from(HOSTS))
    path = "/".join(draw(st.lists(st.sampled_from(SEGMENTS), max_size=6)))
    form = draw(st.sampled_from(["url", "scp", "helper", "path"]))
    if form == "scp":
        return f"{user}{host}:{path}"
    if form == "helper":
        return f"{scheme}::{path}"
    if form == "path":
        return draw(st.sampled_from(["", "/", "./", "../"])) + path
    return f"{scheme}://{user}{host}/{path}"


ANY_TEXT = st.text(
    alphabet=st.sampled_from([*"abzAZ09.-_~/:@%?#[]\\ \t\n\x00eEfF2c5+!$&'()*,;=", "é", "\u202e"]),
    max_size=60,
)
URLS = st.one_of(structured_urls(), ANY_TEXT, st.text(max_size=40))


def timed_normalise(url: str, **flags: bool) -> str | None:
    started = time.perf_counter()
    try:
        return normalise(url, **flags)
    except RepoURLError:
        return None
    finally:
        took = time.perf_counter() - started
        assert took < TIME_BOUND, f"normalise took {took:.2f}s on {url!r}"


def path_of(normal: str) -> str:
    """The path part of a normal form: after the authority of a URL, after ':' of an scp-like one."""
    if "://" in normal:
        return urlsplit(normal).path
    head = normal.split("/", 1)[0]
    return normal.partition(":")[2] if ":" in head else normal


@FUZZ
@given(URLS, st.booleans(), st.booleans())
def test_normalise_accepts_or_refuses_with_its_own_error_and_is_idempotent(
    url: str, allow_local: bool, chart: bool
) -> None:
    normal = timed_normalise(url, allow_local=allow_local, chart=chart)
    if normal is None:
        return
    assert normalise(normal, allow_local=allow_local, chart=chart) == normal
    assert match_key(normal, chart=chart) == match_key(url, chart=chart)
    segments = path_of(normal).split("/")
    assert "." not in segments and ".." not in segments, normal
    lowered = normal.lower()
    for escape in ("%2e", "%2f", "%5c", "%25", "\\"):
        assert escape not in lowered, normal


@FUZZ
@given(URLS)
def test_match_key_raises_only_its_own_error(url: str) -> None:
    try:
        key = match_key(url)
    except RepoURLError:
        return
    assert key == key.lower() and not key.endswith((".git", "/"))


NAMES = st.sampled_from(["team-a", "team-ab", "team", "a", "x", "team-a.git"])


@FUZZ
@given(st.lists(NAMES, min_size=1, max_size=4), st.lists(NAMES, min_size=1, max_size=4))
def test_prefixes_match_on_whole_segments(url_path: list[str], prefix_path: list[str]) -> None:
    url = match_key("https://git.example/" + "/".join(url_path))
    prefix = match_key("https://git.example/" + "/".join(prefix_path))
    url_segments, prefix_segments = url.split("/")[3:], prefix.split("/")[3:]
    expected = url_segments[: len(prefix_segments)] == prefix_segments
    assert under(url, prefix) == expected, (url, prefix)


TEAM_A = AppProject(
    metadata={"name": "team-a"}, spec=AppProjectSpec(source_repos=("https://git.example/team-a/**",))
)
TEAM_A_CREDS = RepoCredential("https://git.example/team-a", Credentials(token="a"), True, "gitward/team-a")


def inside_team_a(url: str) -> bool:
    normal = normalise(url)
    return urlsplit(normal).hostname == "git.example" and urlsplit(normal).path.startswith("/team-a/")


@FUZZ
@given(
    st.lists(st.sampled_from(SEGMENTS), max_size=6), st.sampled_from(["https://", "HTTPS://", "https://bot@"])
)
def test_team_a_entries_serve_only_team_a_repositories(segments: list[str], start: str) -> None:
    url = f"{start}git.example/team-a/" + "/".join(segments)
    if source_permitted(TEAM_A, url):
        assert inside_team_a(url), url
    if match([TEAM_A_CREDS], url) is not None:
        normal = normalise(url)
        path = urlsplit(normal).path.rstrip("/").removesuffix(".git")
        assert path == team_a_path or inside_team_a(url), url
