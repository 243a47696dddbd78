"""Errors about Secrets are scrubbed of the values they quote, before anyone logs them."""

from __future__ import annotations

from gitward.kube.apply import scrub
from gitward.kube.errors import KubeError, error_from_response


def test_values_of_a_secret_are_removed_from_the_message() -> None:
    secret = {"kind": "Secret", "stringData": {"token": "tok-8c1f2e"}, "data": {"pin": "12"}}
    error = KubeError(422, "Invalid", 'Secret "s" is invalid: stringData: Invalid value: "tok-8c1f2e": bad')
    scrubbed = scrub(error, secret)
    assert "tok-8c1f2e" not in str(scrubbed)
    assert scrubbed.message.startswith('Secret "s" is invalid: stringData')
    assert (scrubbed.code, scrubbed.reason) == (422, "Invalid")


def test_a_quoted_mistyped_value_is_hidden_for_any_kind() -> None:
    error = KubeError(500, "Unknown", ".data.k: expected string, got &value.valueUnstructured{Value:4242}")
    assert str(scrub(error, {"kind": "ConfigMap"})) == ".data.k: expected string, got (value hidden)"


def test_a_status_body_gives_reason_message_and_fields() -> None:
    body = (
        b'{"kind":"Status","reason":"Invalid","message":"bad",'
        b'"details":{"causes":[{"field":"spec.replicas"}]}}'
    )
    error = error_from_response(422, body, "PATCH /x")
    assert (error.code, error.reason, str(error), error.fields) == (422, "Invalid", "bad", ("spec.replicas",))
    assert str(error_from_response(502, b"<html>", "GET /x")) == "GET /x: HTTP 502"
