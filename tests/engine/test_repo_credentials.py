from __future__ import annotations

import base64

import pytest

from gitward.engine.repo_credentials import CredentialSecretError, RepoCredential, from_secret, match
from gitward.source import Credentials


def secret(name: str, kind: str, **fields: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "gitward", "labels": {"gitward.dev/secret-type": kind}},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()},
    }


def cred(url: str, template: bool) -> RepoCredential:
    return RepoCredential(url, Credentials(username=url), template, f"gitward/{url}")


def test_a_repository_secret_becomes_credentials_for_its_url() -> None:
    found = from_secret(
        secret("app", "repository", url="https://git.example/org/app.git", username="bot", password="s3cret")
    )
    assert found is not None and not found.template
    assert found.url == "https://git.example/org/app.git"
    assert (found.credentials.username, found.credentials.password) == ("bot", "s3cret")
    assert "s3cret" not in repr(found)


def test_argo_cd_labelled_secrets_are_read_too() -> None:
    argo = secret("app", "repository", url="https://git.example/app", password="p")
    argo["metadata"]["labels"] = {"argocd.argoproj.io/secret-type": "repository"}  # type: ignore[index]
    assert from_secret(argo) is not None


def test_unlabelled_or_other_secrets_are_not_credentials() -> None:
    other = secret("x", "cluster", url="https://k8s.example")
    assert from_secret(other) is None
    plain = {"metadata": {"name": "y"}, "data": {}}
    assert from_secret(plain) is None


def test_a_secret_without_url_is_refused_by_name_without_its_values() -> None:
    with pytest.raises(CredentialSecretError) as raised:
        from_secret(secret("broken", "repository", password="hunter2"))
    assert "gitward/broken" in str(raised.value) and "`url`" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_field_that_is_not_base64_is_refused_without_its_value() -> None:
    bad = secret("bad", "repository", url="https://git.example/a")
    bad["data"]["password"] = "not base64 !!"  # type: ignore[index]
    with pytest.raises(CredentialSecretError, match="`password`") as raised:
        from_secret(bad)
    assert "not base64 !!" not in str(raised.value)


def test_an_exact_repository_beats_any_template() -> None:
    known = [cred("https://git.example/org", True), cred("https://git.example/org/app.git", False)]
    chosen = match(known, "https://git.example/org/app")
    assert chosen is not None and not chosen.template


def test_the_longest_template_prefix_wins_on_whole_path_segments() -> None:
    known = [cred("https://git.example", True), cred("https://git.example/org/", True)]
    chosen = match(known, "https://git.example/org/app.git")
    assert chosen is not None and chosen.url == "https://git.example/org/"
    only_host = match(known, "https://git.example/organisation/app")
    assert only_host is not None and only_host.url == "https://git.example"


def test_no_credential_for_an_unrelated_url() -> None:
    assert match([cred("https://git.example/org", True)], "https://other.example/org/app") is None
