from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from gitward.source.credentials import Credentials, git_environment, redact_url
from gitward.source.git import classify


def test_http_credentials_become_a_header_scoped_to_the_origin() -> None:
    creds = Credentials(username="me", password="pw")
    with git_environment("https://git.example.com:8443/org/repo.git", creds) as env:
        assert env["GIT_TERMINAL_PROMPT"] == "0"
        assert env["GIT_CONFIG_COUNT"] == "1"
        assert env["GIT_CONFIG_KEY_0"] == "http.https://git.example.com:8443/.extraHeader"
        assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Basic " + base64.b64encode(b"me:pw").decode()
    with git_environment("https://h/r", Credentials(token="t0k")) as env:
        assert env["GIT_CONFIG_VALUE_0"] == "Authorization: Bearer t0k"


def test_an_ssh_key_lives_in_a_private_file_only_while_git_runs() -> None:
    creds = Credentials(
        ssh_private_key="-----BEGIN KEY-----\nabc\n-----END KEY-----", ssh_known_hosts="h ssh-ed25519 AAAA"
    )
    with git_environment("git@example.com:org/repo.git", creds) as env:
        command = env["GIT_SSH_COMMAND"]
        key = Path(command.split(" -i ")[1].split(" ")[0])
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert "StrictHostKeyChecking=yes" in command
        assert "abc" not in command
    assert not key.exists()


def test_no_credentials_still_means_no_prompts_and_no_user_config() -> None:
    os.environ["GIT_DIR"] = "/somewhere/else"
    try:
        with git_environment("git://h/r", None) as env:
            assert "GIT_DIR" not in env
            assert env["GIT_CONFIG_GLOBAL"] == os.devnull
            assert env["GIT_TERMINAL_PROMPT"] == "0"
    finally:
        del os.environ["GIT_DIR"]


def test_secrets_are_hidden_from_repr_urls_and_git_output() -> None:
    creds = Credentials(username="me", password="s3cret", token="tok3n")
    assert "s3cret" not in repr(creds) and "tok3n" not in repr(creds)
    assert redact_url("https://me:s3cret@h/r.git") == "https://********@h/r.git"
    error = classify(
        "fatal: Authentication failed for 'https://me:s3cret@h/r.git/' s3cret",
        "https://me:s3cret@h/r.git",
        creds,
        "fetch",
    )
    assert "s3cret" not in str(error)
    assert error.reason == "AuthenticationFailed"
