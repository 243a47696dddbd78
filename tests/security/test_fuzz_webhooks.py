"""Fuzzing the webhook path with hypothesis: whatever a sender posts, a clear refusal or a push.

Each provider's payload parser gets random bytes, random JSON, and payloads
laid out as that provider lays them out with a random value at every leaf
(the likeliest way to reach deep code). The property: `parse` returns a
well-formed Push or raises PayloadError (answered 400), within a time bound;
the matcher, the signature check, the provider detection and the replay
memory never raise either. Anything else would be a 500, or a stuck worker,
that any sender can cause before or after proving the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitward.server.webhook_auth import Unauthorized, check
from gitward.server.webhook_match import matching
from gitward.server.webhook_payloads import PayloadError, Provider, Push, detect, is_ping, is_push, parse
from gitward.server.webhook_replay import Deliveries, delivery_keys

BUDGET = settings(
    max_examples=150,
    deadline=2000,  # ms per example: a payload of a few kB must never take seconds
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROVIDERS = list(Provider)
TIME_BOUND = 1.0  # seconds per call, measured directly as well (the deadline is per example)

# JSON values: the leaves a sender controls, nested a few levels.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "refs/heads/main",
            "refs/tags/v1.2.3",
            "main",
            "https://git.example/team/shop.git",
            "git@git.example:team/shop.git",
            "https://u:p@[::1/x",
            "http://[",
            "ssh://git@host:99999/x",
            "../../etc",
            "0" * 40,
            "a" * 40,
            "",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def leaf() -> st.SearchStrategy[Any]:
    return JSON


def commits() -> st.SearchStrategy[Any]:
    commit = st.fixed_dictionaries(
        {},
        optional={"id": leaf(), "added": leaf(), "modified": leaf(), "removed": leaf()},
    )
    return st.lists(commit, max_size=25) | leaf()


def repository(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({}, optional={k: leaf() for k in keys}) | leaf()


# Each provider's push layout, with a random value at every leaf (and sometimes a random subtree).
LAYOUTS: dict[Provider, st.SearchStrategy[Any]] = {
    Provider.github: st.fixed_dictionaries(
        {},
        optional={
            "ref": leaf(),
            "after": leaf(),
            "commits": commits(),
            "repository": repository(
                ["clone_url", "ssh_url", "html_url", "git_url", "url", "default_branch", "master_branch"]
            ),
        },
    ),
    Provider.gitea: st.fixed_dictionaries(
        {},
        optional={
            "ref": leaf(),
            "after": leaf(),
            "commits": commits(),
            "total_commits": leaf(),
            "repository": repository(["clone_url", "ssh_url", "html_url", "default_branch"]),
        },
    ),
    Provider.gitlab: st.fixed_dictionaries(
        {},
        optional={
            "ref": leaf(),
            "after": leaf(),
            "checkout_sha": leaf(),
            "commits": commits(),
            "total_commits_count": leaf(),
            "project": repository(
                ["git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url", "default_branch"]
            ),
            "repository": repository(["git_http_url", "git_ssh_url", "homepage", "url"]),
        },
    ),
    Provider.bitbucket: st.fixed_dictionaries(
        {},
        optional={
            "repository": st.fixed_dictionaries(
                {},
                optional={
                    "full_name": leaf(),
                    "links": st.fixed_dictionaries({}, optional={"html": repository(["href"])}) | leaf(),
                    "mainbranch": repository(["name"]),
                },
            )
            | leaf(),
            "push": st.fixed_dictionaries(
                {},
                optional={
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "new": st.fixed_dictionaries(
                                    {},
                                    optional={"name": leaf(), "type": leaf(), "target": repository(["hash"])},
                                )
                                | leaf()
                            },
                        ),
                        max_size=4,
                    )
                    | leaf()
                },
            )
            | leaf(),
        },
    ),
    Provider.bitbucketserver: st.fixed_dictionaries(
        {},
        optional={
            "repository": st.fixed_dictionaries(
                {},
                optional={
                    "links": st.fixed_dictionaries(
                        {}, optional={"clone": st.lists(repository(["href", "name"]), max_size=3) | leaf()}
                    )
                    | leaf()
                },
            )
            | leaf(),
            "changes": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "ref": repository(["id", "displayId", "type"]),
                        "refId": leaf(),
                        "toHash": leaf(),
                        "type": leaf(),
                    },
                ),
                max_size=4,
            )
            | leaf(),
        },
    ),
}
LAYOUTS[Provider.gogs] = LAYOUTS[Provider.gitea]

# Apps the parsed pushes are matched against: a spread of URLs, revisions and paths.
APPS = [
    {
        "metadata": {"namespace": "apps", "name": f"app-{i}", "annotations": annotations},
        "spec": {"source": {"repoURL": url, "targetRevision": revision, "path": path}},
    }
    for i, (url, revision, path, annotations) in enumerate(
        [
            ("https://git.example/team/shop.git", "main", "deploy", {}),
            ("git@git.example:team/shop.git", "HEAD", "", {}),
            ("https://git.example/team/shop", ">=1.0.0", "apps/a", {}),
            ("https://u:p@[::1/x", "refs/heads/main", ".", {"gitward.dev/manifest-generate-paths": ".;/x"}),
            ("not a url", "", "../..", {}),
        ]
    )
]


def _bounded(call: Any, *args: Any) -> Any:
    started = time.monotonic()
    try:
        return call(*args)
    finally:
        took = time.monotonic() - started
        assert took < TIME_BOUND, f"{call.__name__} took {took:.2f}s"


def _well_formed(push: Push, provider: Provider) -> None:
    assert push.provider is provider
    assert push.urls and all(isinstance(u, str) and u for u in push.urls)
    assert all(isinstance(r, str) and r for r in push.refs)
    assert push.default_branch is None or isinstance(push.default_branch, str)
    assert push.files is None or all(isinstance(f, str) for f in push.files)
    assert push.sha is None or (isinstance(push.sha, str) and len(push.sha) in (40, 64))


def _parse_or_refuse(provider: Provider, body: bytes) -> Push | None:
    try:
        push: Push = _bounded(parse, provider, body)
    except PayloadError as problem:
        assert str(problem)  # a message the 400 carries
        return None
    _well_formed(push, provider)
    # A parsed push goes on to the matcher: it must not fail on what the payload said either.
    found = _bounded(matching, APPS, push)
    assert all(isinstance(ns, str) and isinstance(name, str) for ns, name in found)
    return push


@BUDGET
@given(provider=st.sampled_from(PROVIDERS), body=st.binary(max_size=2048))
def test_random_bytes_are_parsed_or_refused(provider: Provider, body: bytes) -> None:
    _parse_or_refuse(provider, body)


@BUDGET
@given(provider=st.sampled_from(PROVIDERS), payload=JSON)
def test_random_json_is_parsed_or_refused(provider: Provider, payload: Any) -> None:
    _parse_or_refuse(provider, json.dumps(payload).encode())


@BUDGET
@given(data=st.data(), provider=st.sampled_from(PROVIDERS))
def test_each_providers_layout_with_random_leaves_is_parsed_or_refused(
    data: st.DataObject, provider: Provider
) -> None:
    payload = data.draw(LAYOUTS[provider])
    _parse_or_refuse(provider, json.dumps(payload).encode())


PATHOLOGICAL = {
    "arrays nested past the recursion limit": "[" * 200_000,
    "objects nested past the recursion limit": '{"a":' * 200_000,
    "a number past int's digit limit": "9" * 100_000,
    "a sha past int's digit limit": '{"ref": "refs/heads/main", "after": ' + "1" * 5000 + "}",
    "a lone surrogate": '"\\ud800"',
    "a list of files that is a number": json.dumps(
        {"ref": "refs/heads/main", "repository": {"clone_url": "https://h/x"}, "commits": [{"added": 5}]}
    ),
    "bitbucket changes that are a number": json.dumps(
        {"repository": {"links": {"html": {"href": "https://h/x"}}}, "push": {"changes": 5}}
    ),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("text", list(PATHOLOGICAL.values()), ids=list(PATHOLOGICAL))
def test_pathological_json_is_parsed_or_refused_with_the_modules_error(provider: Provider, text: str) -> None:
    _parse_or_refuse(provider, text.encode())
    _parse_or_refuse(provider, b"\xff\xfe" + text.encode())  # not UTF-8


HEADER_NAMES = st.sampled_from(
    [
        "x-github-event",
        "x-gitlab-event",
        "x-gitea-event",
        "x-gogs-event",
        "x-event-key",
        "x-hook-uuid",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-gitea-signature",
        "x-gogs-signature",
        "x-gitlab-token",
        "x-github-delivery",
        "idempotency-key",
        "x-request-uuid",
        "x-request-id",
    ]
) | st.text(max_size=20)
HEADERS = st.dictionaries(HEADER_NAMES, st.text(max_size=300), max_size=8)
SECRETS = st.dictionaries(
    st.sampled_from([f"{p}.secret" for p in Provider] + ["bitbucket.uuid"]), st.text(max_size=20), max_size=4
)


@BUDGET
@given(headers=HEADERS, secrets=SECRETS, body=st.binary(max_size=256))
def test_headers_are_detected_checked_and_remembered_without_failing(
    headers: dict[str, str], secrets: dict[str, str], body: bytes
) -> None:
    found = detect(headers)
    if found is None:
        return
    provider, event = found
    assert isinstance(is_push(provider, event), bool) and isinstance(is_ping(provider, event), bool)
    for candidate in (None, body):
        try:
            check(provider, headers, candidate, secrets)
        except Unauthorized as refused:
            assert all(v not in str(refused) for v in secrets.values() if len(v) > 3)  # never echoes one
    keys = delivery_keys(provider, headers, body)
    memory = Deliveries(size=3)
    assert memory.replayed(keys) is False and memory.replayed(keys) is True
    assert len(memory) <= 3


def test_a_signature_over_the_body_passes_the_check_the_fuzzer_runs() -> None:
    """The property above is not vacuous: a correctly signed body does pass."""
    body = b'{"ref": "refs/heads/main"}'
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    check(Provider.github, {"x-hub-signature-256": f"sha256={signature}"}, body, {"github.secret": "s3cret"})
