from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitward.model import DirectorySource
from gitward.render import Limits, ValidationFailed, render_directory
from tests.render.conftest import names, write


def cm(name: str, namespace: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\n"


def problems(
    root: Path, path: str = "", spec: DirectorySource | None = None, limits: Limits | None = None
) -> list[str]:
    with pytest.raises(ValidationFailed) as failure:
        render_directory(root, path, spec, limits)
    return [str(p) for p in failure.value.problems]


def test_yaml_yml_and_json_files_multi_document_in_file_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b.yml": cm("b1") + "---\n" + cm("b2") + "---\n",
            "a.yaml": cm("a"),
            "c.json": json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}),
            "README.md": "not a manifest",
            "notes.txt": "kind: nothing",
        },
    )
    assert names(render_directory(tmp_path)) == ["a", "b1", "b2", "c"]


def test_a_kind_list_is_expanded_into_its_items(tmp_path: Path) -> None:
    items = cm("one").replace("\n", "\n    ").rstrip()
    write(
        tmp_path,
        {
            "list.yaml": f"apiVersion: v1\nkind: List\nitems:\n  - {items}\n"
            f"  - {items.replace('one', 'two')}\n"
        },
    )
    assert names(render_directory(tmp_path)) == ["one", "two"]


def test_recurse_include_and_exclude_with_alternation(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/top.yaml": cm("top"),
            "app/sub/deep.yaml": cm("deep"),
            "app/sub/skip.yaml": cm("skip"),
            "app/sub/other.json": json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}
            ),
        },
    )
    assert names(render_directory(tmp_path, "app")) == ["top"]
    assert names(render_directory(tmp_path, "app", DirectorySource(recurse=True))) == [
        "deep",
        "j",
        "skip",
        "top",
    ]
    spec = DirectorySource(recurse=True, include="{top,sub/deep,sub/skip}.yaml", exclude="*/skip.*")
    assert names(render_directory(tmp_path, "app", spec)) == ["deep", "top"]
    # exclude wins over include
    both = DirectorySource(recurse=True, include="*.yaml", exclude="{skip,deep}.yaml")
    assert names(render_directory(tmp_path, "app", both)) == ["top"]


def test_malformed_yaml_and_json_name_file_line_and_column(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"bad.yaml": cm("ok") + "---\nkey: [unclosed\n", "bad.json": '{"apiVersion": "v1",\n  "kind" "x"}'},
    )
    found = problems(tmp_path)
    assert found[0].startswith("bad.json:2:10: malformed JSON")
    assert found[1].startswith("bad.yaml:7:1: malformed YAML")


def test_missing_identity_fields_are_each_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": "kind: ConfigMap\nmetadata:\n  name: x\n---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {}\n",
            "b.yaml": "- just a list\n",
        },
    )
    assert problems(tmp_path) == [
        "a.yaml:1:1: ConfigMap has no apiVersion",
        "a.yaml:5:1: Service has no metadata.name",
        "b.yaml:1:1: a manifest must be an object",
    ]


def test_the_same_object_twice_names_both_places(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"a.yaml": cm("x", "ns"), "b.yaml": "# comment\n" + cm("x", "ns") + "---\n" + cm("x", "other")},
    )
    assert problems(tmp_path) == ["b.yaml:2:1: ConfigMap ns/x is declared twice (first at a.yaml:1:1)"]


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: lol}",
        'a0: &a0 ["lol","lol","lol","lol"]',
    ]
    for i in range(1, 30):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    write(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"})
    found = problems(tmp_path)
    assert len(found) == 1
    assert found[0].startswith("bomb.yaml:") and "alias" in found[0]


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path, {"loop.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &d {self: *d}\n"}
    )
    assert "refers to itself" in problems(tmp_path)[0]


def test_ordinary_anchors_are_fine(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x}\ndata: {copy: *m}\n"})
    assert render_directory(tmp_path)[0]["data"] == {"copy": {"name": "x"}}


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    write(tmp_path, {"big.yaml": cm("big") + "data:\n" + "".join(f"  k{i}: v\n" for i in range(200))})
    (found,) = problems(tmp_path, limits=Limits(max_file_bytes=1000))
    assert found.startswith("big.yaml: file is") and "over the limit of 1,000" in found


def test_a_symlink_out_of_the_repository_is_refused_and_one_inside_is_read(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path, {"outside/secret.yaml": cm("stolen")})
    write(repo, {"app/real.yaml": cm("real"), "shared/common.yaml": cm("common")})
    (repo / "app" / "common.yml").symlink_to("../shared/common.yaml")
    assert names(render_directory(repo, "app")) == ["common", "real"]
    (repo / "app" / "escape.yaml").symlink_to(tmp_path / "outside" / "secret.yaml")
    (repo / "app" / "escaped-dir").symlink_to(tmp_path / "outside")
    found = problems(repo, "app", DirectorySource(recurse=True))
    assert found == [
        "app/escape.yaml: symlink points outside the repository",
        "app/escaped-dir: symlink points outside the repository",
    ]


def test_a_path_that_leaves_the_repository_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"repo/a.yaml": cm("a"), "other/b.yaml": cm("b")})
    assert problems(tmp_path / "repo", "../other") == ["../other: path leaves the repository"]


def test_every_problem_is_reported_and_no_objects_are_returned(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": cm("good"), "b.yaml": "kind: X\n", "c.yaml": ": :\n"})
    assert len(problems(tmp_path)) == 2


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    secret = "c3VwZXItc2VjcmV0LXZhbHVl"
    head = "apiVersion: v1\nkind: Secret\nmetadata: {name: "
    write(
        tmp_path,
        {
            "s.yaml": f"{head}s}}\ndata:\n  password: {secret}\n  bad: [{secret}\n",
            "t.yaml": f"{head}t}}\nstringData: {{password: {secret}}}\n---\n"
            f"{head}t}}\nstringData: {{password: {secret}}}\n",
            "u.json": '{"apiVersion": "v1", "kind": "Secret", "data": {"p": "' + secret + '"}}',
        },
    )
    found = problems(tmp_path)
    assert len(found) == 3
    assert all(secret not in line for line in found)
