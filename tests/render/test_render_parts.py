"""The renderers' small parts, without any binary: messages, the cache, shadow trees, YAML reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.render import Problem, RenderCache, RenderKey, ValidationFailed
from gitward.render.documents import read_documents
from gitward.render.helm import _escape_commas, exact_version
from gitward.render.kustomize import looks_remote
from gitward.render.tools import secretish, tool_message
from gitward.render.trees import resolve_within, shadow
from gitward.render.validate import Limits, objects_from_output, secret_values


def test_tool_messages_keep_the_first_error_line_without_dumps_secrets_or_our_folders() -> None:
    paths = {"/tmp/scratch/tree": "", "/cache/trees/sha": ""}
    stderr = (
        b"Error: accumulating resources from '/cache/trees/sha/app/s.yaml': wrong node kind: "
        b"node contents:\n[hunter2, b]\nUsage:\n  kustomize build\n"
    )
    assert tool_message(stderr, paths=paths, secrets=[]) == (
        "accumulating resources from 'app/s.yaml': wrong node kind: node contents: …"
    )
    quoted = (
        b"Error: trouble configuring builtin PatchTransformer with config: `\npatch: |\n  pw: hunter2\n`: bad"
    )
    assert (
        tool_message(quoted, paths={}, secrets=[])
        == "trouble configuring builtin PatchTransformer with config: `…`"
    )
    leaked = b"Error: literal sources [password=hunter2-long, x]: invalid"
    assert tool_message(leaked, paths={}, secrets=["hunter2-long", "x"]) == (
        "literal sources [password=<redacted>, x]: invalid"
    )
    assert tool_message(b"", paths={}, secrets=[]) == "no error output"
    assert tool_message(b"walk.go: warning\nplain failure\n", paths={}, secrets=[]) == "walk.go: warning"


def test_secret_values_of_a_secret_plain_and_decoded() -> None:
    secret = {"kind": "Secret", "data": {"a": "aHVudGVyMi1zZWNyZXQ="}, "stringData": {"b": "plain-value"}}
    assert secret_values(secret) == {"aHVudGVyMi1zZWNyZXQ=", "hunter2-secret", "plain-value"}
    assert secret_values({"kind": "ConfigMap", "data": {"a": "value"}}) == set()
    assert secretish("password") and secretish("apiToken") and secretish("tls.key") and not secretish("image")


def test_helm_parameter_commas_are_escaped_as_argo_cd_escapes_them() -> None:
    assert _escape_commas("a,b") == "a\\,b"
    assert _escape_commas("a\\,b") == "a\\,b"
    assert _escape_commas("{a,b}") == "{a,b}"


@pytest.mark.parametrize(
    ("entry", "remote"),
    [
        ("https://github.com/org/repo//base?ref=v1", True),
        ("github.com/org/repo/base?ref=main", True),
        ("git@github.com:org/repo.git", True),
        ("git::https://example.com/repo.git", True),
        ("example.com/org/repo//base?ref=v2", True),
        ("../base", False),
        ("overlays/prod", False),
        ("deployment.yaml", False),
    ],
)
def test_remote_references_are_recognised(entry: str, remote: bool) -> None:
    assert looks_remote(entry) is remote


def test_exact_chart_versions() -> None:
    assert exact_version("1.2.3") and exact_version("v1.2.3-rc.1+build.5")
    assert not exact_version("^1.2") and not exact_version(">=1.0.0") and not exact_version("HEAD")


def test_timestamps_and_binary_stay_text_as_kubernetes_reads_them() -> None:
    documents, problems = read_documents("a: 2024-01-01\nb: 2024-01-01T10:00:00Z\nc: !!binary aGk=\n", "f")
    assert problems == []
    assert documents[0].value == {"a": "2024-01-01", "b": "2024-01-01T10:00:00Z", "c": "aGk="}


def test_output_problems_name_the_document_where_the_parser_stopped() -> None:
    found: list[Problem] = []
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n"
    assert objects_from_output(text, "helm template", lambda i, _l: f"t{i}.yaml", Limits(), found) == []
    assert len(found) == 1
    assert str(found[0]).startswith("t1.yaml: document 2 of the helm template output: malformed YAML")


def key(n: int) -> RenderKey:
    return RenderKey("u", str(n), "p", "spec", "inputs")


def test_the_cache_hands_out_copies_and_evicts_the_least_recently_used() -> None:
    cache = RenderCache(max_bytes=300)
    stored = cache.put(key(1), [{"kind": "ConfigMap", "metadata": {"name": "a" * 50}}])
    stored[0]["kind"] = "changed"
    hit = cache.get(key(1))
    assert hit is not None and hit[0]["kind"] == "ConfigMap"
    cache.put(key(2), [{"kind": "ConfigMap", "metadata": {"name": "b" * 50}}])
    cache.get(key(1))  # 1 is now the most recently used
    cache.put(key(3), [{"kind": "ConfigMap", "metadata": {"name": "c" * 50}}])
    cache.put(key(4), [{"kind": "ConfigMap", "metadata": {"name": "d" * 50}}])
    assert cache.get(key(2)) is None
    assert cache.get(key(1)) is not None
    cache.put_failure(key(5), ValidationFailed([Problem("f.yaml", 1, 2, "bad")]))
    with pytest.raises(ValidationFailed) as failure:
        cache.get(key(5))
    assert str(failure.value) == "f.yaml:1:2: bad"


def test_a_shadow_copies_only_what_is_written_and_links_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for name in (
        "a/b/app/kustomization.yaml",
        "a/b/app/sub/x.yaml",
        "a/b/base/k.yaml",
        "a/other.yaml",
        "top.yaml",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    work = shadow(root, tmp_path / "work", [root / "a/b/app"], link_files=True)
    assert (work / "top.yaml").is_symlink() and (work / "a/other.yaml").is_symlink()
    assert (work / "a/b/base").is_symlink()
    assert not (work / "a/b").is_symlink() and not (work / "a/b/app").is_symlink()
    linked = work / "a/b/app/sub/x.yaml"
    assert not linked.is_symlink() and linked.samefile(root / "a/b/app/sub/x.yaml")
    copied = shadow(root, tmp_path / "work2", [root / "a/b/app"])
    assert not (copied / "a/b/app/sub/x.yaml").samefile(root / "a/b/app/sub/x.yaml")
    assert (copied / "a/b/app/sub/x.yaml").read_text() == "a/b/app/sub/x.yaml"


def test_resolve_within_refuses_what_leaves(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "app").mkdir(parents=True)
    (root / "app" / "v.yaml").write_text("")
    (root / "app" / "out").symlink_to(tmp_path)
    assert resolve_within(root, root / "app", "v.yaml") == (root / "app" / "v.yaml", "")
    assert resolve_within(root, root / "app", "../../x") == (None, "leaves the repository")
    assert resolve_within(root, root / "app", "out/r/app/v.yaml")[0] == root / "app" / "v.yaml"
    assert resolve_within(root, root / "app", "out") == (None, "leaves the repository")
    assert resolve_within(root, root / "app", "nope.yaml") == (
        None,
        "no such file or folder in the repository",
    )
