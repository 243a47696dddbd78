"""The Kustomize renderer on real kustomizations with the real kustomize binary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitward.model import ApplicationSource
from gitward.render import AppContext, Renderer, RenderSettings, SourceTree, Tools, ValidationFailed
from tests.render.conftest import DEPLOYMENT, by_name, cm, fingerprint, names, read_only, write

SHA = "a" * 40
APP = AppContext("demo", "dest")


def source(path: str = "app", **kustomize: object) -> ApplicationSource:
    spec: dict[str, object] = {"repoURL": "https://example.com/repo.git", "path": path}
    if kustomize:
        spec["kustomize"] = kustomize
    return ApplicationSource.from_dict(spec)


def problems_of(renderer: Renderer, src: ApplicationSource, root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(src, SourceTree(root, SHA), APP)
    return [str(p) for p in failure.value.problems]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(
        root,
        {
            "base/kustomization.yaml": "namePrefix: base-\nresources:\n- deployment.yaml\n- cm.yaml\n",
            "base/deployment.yaml": DEPLOYMENT,
            "base/cm.yaml": cm("settings", data="data:\n  mode: base\n"),
            "app/kustomization.yaml": "resources:\n- ../base\ncommonLabels:\n  team: blue\n"
            "namePrefix: own-\nimages:\n- name: nginx\n  newName: registry.example.com/nginx\n",
            "app/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base-settings\n"
            "data:\n  mode: patched-from-file\n",
            "components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
            "kind: Component\nresources:\n- extra.yaml\n",
            "components/extra/extra.yaml": cm("extra"),
        },
    )
    return read_only(root)


def test_kustomize_build_of_an_overlay_leaves_the_tree_untouched(renderer: Renderer, repo: Path) -> None:
    before = fingerprint(repo)
    objects = renderer.render(source(), SourceTree(repo, SHA), APP)
    assert sorted(names(objects)) == ["own-base-settings", "own-base-web"]
    web = by_name(objects, "own-base-web")
    assert web["metadata"]["labels"] == {"team": "blue"}  # type: ignore[index]
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/nginx:1.25"  # type: ignore[index]
    # No option: kustomize runs on the read-only tree itself, nothing is edited or copied.
    assert renderer.runner.launches == {"kustomize": 1}
    assert fingerprint(repo) == before


def test_every_kustomize_option_is_applied_as_argo_cd_applies_it(renderer: Renderer, repo: Path) -> None:
    before = fingerprint(repo)
    src = source(
        namePrefix="app-",
        nameSuffix="-v2",
        images=["nginx:1.27"],
        replicas=[{"name": "base-web", "count": 3}],
        commonLabels={"env": "prod"},
        commonAnnotations={"owner": "platform", "link": "http://wiki:8080/a"},
        namespace="shop",
        patches=[
            {"path": "patch.yaml"},
            {
                "target": {"kind": "Deployment"},
                "patch": "- op: add\n  path: /spec/template/spec/priorityClassName\n  value: high",
            },
        ],
        components=["../components/extra"],
    )
    objects = renderer.render(src, SourceTree(repo, SHA), APP)
    # namePrefix replaces the app folder's own prefix (kustomize edit), it does not stack on it.
    assert sorted(names(objects)) == ["app-base-settings-v2", "app-base-web-v2", "app-extra-v2"]
    web = by_name(objects, "app-base-web-v2")
    meta = web["metadata"]
    assert meta["namespace"] == "shop"  # type: ignore[index]
    assert meta["labels"] == {"env": "prod", "team": "blue"}  # type: ignore[index]
    assert meta["annotations"] == {"owner": "platform", "link": "http://wiki:8080/a"}  # type: ignore[index]
    pod = web["spec"]["template"]["spec"]  # type: ignore[index]
    assert web["spec"]["replicas"] == 3  # type: ignore[index]
    # `set image nginx:1.27` replaces the folder's own nginx entry (newName included), as kustomize edit does.
    assert pod["containers"][0]["image"] == "nginx:1.27"
    assert pod["priorityClassName"] == "high"
    assert by_name(objects, "app-base-settings-v2")["data"] == {"mode": "patched-from-file"}
    # 8 `kustomize edit` runs (patches are written directly), 1 build; the read-only tree is as before.
    assert renderer.runner.launches == {"kustomize": 9}
    assert fingerprint(repo) == before


def test_a_common_label_already_set_in_the_kustomization_is_an_error_as_in_argo_cd(
    renderer: Renderer, repo: Path
) -> None:
    found = problems_of(renderer, source(commonLabels={"team": "red"}), repo)
    assert len(found) == 1
    assert found[0] == (
        "app/kustomization.yaml: spec kustomize.commonLabels: kustomize edit failed: "
        "label team already in kustomization file. Use --force to override."
    )


@pytest.mark.parametrize("name", ["kustomization.yaml", "kustomization.yml", "Kustomization"])
def test_each_kustomization_file_name_is_recognised(renderer: Renderer, tmp_path: Path, name: str) -> None:
    root = read_only(write(tmp_path / "r", {f"app/{name}": "resources: [cm.yaml]\n", "app/cm.yaml": cm("x")}))
    assert names(renderer.render(source(namePrefix="p-"), SourceTree(root, SHA), APP)) == ["p-x"]


@pytest.mark.parametrize(
    "entry",
    [
        "https://github.com/org/repo//deploy?ref=v1.0.0",
        "github.com/org/repo/deploy?ref=main",
        "git@github.com:org/repo.git//deploy",
        "ssh://git@example.com/org/repo.git",
    ],
)
def test_a_remote_base_is_refused_naming_the_file_line_and_column(
    renderer: Renderer, tmp_path: Path, entry: str
) -> None:
    root = read_only(
        write(
            tmp_path / "r",
            {
                "app/kustomization.yaml": "resources:\n- ../base\n",
                "base/kustomization.yaml": f"resources:\n- cm.yaml\n- {entry}\n",
                "base/cm.yaml": cm("x"),
            },
        )
    )
    found = problems_of(renderer, source(), root)
    assert found == [
        f"base/kustomization.yaml:3:3: resources {entry!r} is a remote base; remote bases are not allowed "
        "(rendering uses no network)"
    ]
    assert renderer.runner.total == 0  # refused before kustomize could reach for the network


def test_a_remote_resource_is_fetched_only_when_the_network_is_allowed(
    tools: Tools, settings: RenderSettings, tmp_path: Path, http_folder: tuple[Path, str]
) -> None:
    served, url = http_folder
    write(served, {"remote.yaml": cm("from-the-web")})
    root = read_only(
        write(
            tmp_path / "r",
            {
                "app/kustomization.yaml": f"resources:\n- cm.yaml\n- {url}/remote.yaml\n",
                "app/cm.yaml": cm("local"),
            },
        )
    )
    closed = Renderer(tools, settings)
    with pytest.raises(ValidationFailed) as failure:
        closed.render(source(), SourceTree(root, SHA), APP)
    assert "is a remote base; remote bases are not allowed" in str(failure.value)
    opened = Renderer(tools, RenderSettings(allow_network=True, scratch_dir=settings.scratch_dir))
    assert sorted(names(opened.render(source(), SourceTree(root, SHA), APP))) == ["from-the-web", "local"]


def test_references_leaving_the_repository_are_refused(renderer: Renderer, tmp_path: Path) -> None:
    outside = write(
        tmp_path / "outside", {"kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": cm("x")}
    )
    root = tmp_path / "r"
    write(
        root,
        {
            "app/kustomization.yaml": "resources:\n- ../../outside\n- linked\n- /etc/hostname\n"
            "components:\n- ../nowhere\n",
        },
    )
    (root / "app" / "linked").symlink_to(outside)
    read_only(root)
    assert problems_of(renderer, source(), root) == [
        "app/kustomization.yaml:2:3: resources '../../outside': leaves the repository",
        "app/kustomization.yaml:3:3: resources 'linked': leaves the repository",
        "app/kustomization.yaml:4:3: resources '/etc/hostname': leaves the repository",
        "app/kustomization.yaml:6:3: components '../nowhere': no such file or folder in the repository",
    ]


def test_malformed_kustomization_and_resources_are_reported_at_file_line_column(
    renderer: Renderer, tmp_path: Path
) -> None:
    root = read_only(
        write(
            tmp_path / "r",
            {
                "app/kustomization.yaml": "resources:\n- good.yaml\n- bad.yaml\n- noname.yaml\n",
                "app/good.yaml": cm("good"),
                "app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n",
                "app/noname.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {}\n"
                "stringData: {pw: hunter2-xyz}\n",
                "other/kustomization.yaml": "resources: [\n",
            },
        )
    )
    found = problems_of(renderer, source(), root)
    assert found[0].startswith("app/bad.yaml:4:1: malformed YAML")
    assert found[1] == "app/noname.yaml:1:1: Secret has no metadata.name"
    assert problems_of(renderer, source("other"), root)[0].startswith(
        "other/kustomization.yaml:2:1: malformed YAML"
    )
    assert renderer.runner.total == 0
    assert "hunter2" not in "\n".join(found)


def test_secret_values_never_appear_in_kustomize_errors(renderer: Renderer, tmp_path: Path) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {token: hunter2-in-a-secret}\n"
    cases = {
        # kustomize quotes an inline patch it cannot parse; we refuse it first, without its text.
        "bad-patch": "resources: [s.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n"
        "    metadata: {name: s}\n    stringData: {token: hunter2-in-a-patch\n",
        # ...and one it parses but cannot apply, with the node's contents on the next line.
        "node-dump": "resources: [s.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n"
        "    metadata: {name: s}\n    stringData: {token: [hunter2-in-a-list, b]}\n",
        # kustomize prints literal sources when one of them is malformed.
        "literals": "secretGenerator:\n- name: g\n  literals: [password=hunter2-literal, oops]\n",
    }
    for name, kustomization in cases.items():
        write(tmp_path / "r", {f"{name}/kustomization.yaml": kustomization, f"{name}/s.yaml": secret})
    root = read_only(tmp_path / "r")
    for name in cases:
        found = "\n".join(problems_of(renderer, source(name), root))
        assert found, name
        assert "hunter2" not in found, found


def test_a_kustomize_that_runs_past_its_timeout_is_killed_with_its_children(
    tmp_path: Path, helm_bin: str
) -> None:
    pidfile = tmp_path / "child.pid"
    fake = tmp_path / "kustomize"
    fake.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n")
    fake.chmod(0o755)
    root = read_only(
        write(tmp_path / "r", {"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": cm("x")})
    )
    # 3 s, not less: on busy shared cores the script must get to start its child before the deadline.
    renderer = Renderer(Tools(helm=helm_bin, kustomize=str(fake)), RenderSettings(timeout=3.0))
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(source(), SourceTree(root, SHA), APP)
    assert [str(p) for p in failure.value.problems] == [
        "app/kustomization.yaml: kustomize build did not finish within 3s and was stopped"
    ]
    child = int(pidfile.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_kustomize_output_goes_through_the_same_validation(tmp_path: Path, helm_bin: str) -> None:
    # A stand-in kustomize whose output has a nameless object and a duplicate: the checks still apply.
    output = cm("a") + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\n" + cm("a")
    fake = tmp_path / "kustomize"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}EOF\n")
    fake.chmod(0o755)
    root = read_only(write(tmp_path / "r", {"app/kustomization.yaml": "resources: []\n"}))
    renderer = Renderer(Tools(helm=helm_bin, kustomize=str(fake)))
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(source(), SourceTree(root, SHA), APP)
    assert [str(p) for p in failure.value.problems] == [
        "app/kustomization.yaml: document 2 of the kustomize build output: ConfigMap has no metadata.name",
        "app/kustomization.yaml: document 3 of the kustomize build output: ConfigMap a is declared twice "
        "(first at app/kustomization.yaml (document 1 of the kustomize build output))",
    ]


def test_helm_charts_inside_a_kustomization_are_refused(renderer: Renderer, tmp_path: Path) -> None:
    root = read_only(
        write(tmp_path / "r", {"app/kustomization.yaml": "helmCharts:\n- name: x\n  repo: https://e.com\n"})
    )
    found = problems_of(renderer, source(), root)
    assert found[0].startswith("app/kustomization.yaml:2:1: helmCharts: Helm charts inside a kustomization")
    assert json.dumps(found)  # plain strings
