"""Choosing the renderer, several sources with $ref values, and the render cache."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gitward.model import ApplicationSource
from gitward.render import AppContext, Renderer, RenderSettings, SourceTree, Tools, ValidationFailed
from tests.render.conftest import by_name, cm, launches, logging_wrapper, names, read_only, write

SHA = "c" * 40
APP = AppContext("shop", "dest")

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "values.yaml": "greeting: chart-default\n",
    "templates/cm.yaml": cm(
        "{{ .Release.Name }}-web", data="data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}


def src(path: str, **extra: Any) -> ApplicationSource:
    return ApplicationSource.from_dict({"repoURL": "https://example.com/app.git", "path": path, **extra})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {
        "plain/cm.yaml": cm("plain"),
        "kust/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: k-\n",
        "kust/cm.yaml": cm("kust"),
        "both/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: k-\n",
        "both/cm.yaml": cm("both"),
        **{f"chart/{k}": v for k, v in CHART.items()},
        **{f"both/{k}": v for k, v in CHART.items()},
    }
    return read_only(write(tmp_path / "repo", files))


@pytest.mark.parametrize(
    ("path", "extra", "expected"),
    [
        ("plain", {}, ["plain"]),
        ("kust", {}, ["k-kust"]),
        ("chart", {}, ["shop-web"]),
        # A kustomization and a Chart.yaml side by side: Kustomize, as Argo CD's discovery decides.
        ("both", {}, ["k-both"]),
        # A spec naming its renderer is obeyed whatever the files say.
        ("both", {"helm": {"releaseName": "explicit"}}, ["explicit-web"]),
        ("kust", {"directory": {"include": "cm.yaml"}}, ["kust"]),
    ],
)
def test_the_renderer_is_chosen_as_argo_cd_chooses(
    renderer: Renderer, repo: Path, path: str, extra: dict[str, Any], expected: list[str]
) -> None:
    assert names(renderer.render(src(path, **extra), SourceTree(repo, SHA), APP)) == expected


def test_a_spec_naming_two_renderers_is_refused(renderer: Renderer, repo: Path) -> None:
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(src("both", helm={}, kustomize={}), SourceTree(repo, SHA), APP)
    assert str(failure.value).startswith(
        "spec: source: more than one of helm, kustomize and directory is set"
    )


def test_a_path_leaving_the_repository_is_refused(renderer: Renderer, repo: Path) -> None:
    kinds: list[dict[str, Any]] = [{"helm": {}}, {"kustomize": {}}]
    for kind in kinds:
        with pytest.raises(ValidationFailed) as failure:
            renderer.render(src("../..", **kind), SourceTree(repo, SHA), APP)
        assert str(failure.value) == "../..: path leaves the repository"


def test_a_warm_render_starts_no_process(tools: Tools, tmp_path: Path, repo: Path) -> None:
    helm, helm_log = logging_wrapper(tmp_path, tools.helm, "helm")
    kustomize, kustomize_log = logging_wrapper(tmp_path, tools.kustomize, "kustomize")
    renderer = Renderer(Tools(helm=helm, kustomize=kustomize), RenderSettings(scratch_dir=tmp_path))
    sources = [src("chart"), src("kust", kustomize={"namePrefix": "p-"}), src("plain")]
    cold = [renderer.render(s, SourceTree(repo, SHA), APP) for s in sources]
    started = (len(launches(helm_log)), len(launches(kustomize_log)), renderer.runner.total)
    assert started == (1, 2, 3)
    warm = [renderer.render(s, SourceTree(repo, SHA), APP) for s in sources]
    assert warm == cold
    # Counted twice: by the runner, and by the binaries themselves.
    assert (len(launches(helm_log)), len(launches(kustomize_log)), renderer.runner.total) == started
    assert renderer.cache.hits == 3


def test_what_changes_the_output_changes_the_key(renderer: Renderer, repo: Path) -> None:
    tree = SourceTree(repo, SHA)
    renderer.render(src("chart"), tree, APP)
    renderer.render(src("chart"), SourceTree(repo, "d" * 40), APP)  # another commit
    renderer.render(src("chart", helm={"releaseName": "x"}), tree, APP)  # another spec
    renderer.render(src("chart"), tree, AppContext("other", "dest"))  # another release name
    assert renderer.runner.total == 4
    # The app's name means nothing to Kustomize or a directory: one entry serves every app.
    renderer.render(src("kust"), tree, APP)
    renderer.render(src("kust"), tree, AppContext("other", "elsewhere"))
    assert renderer.runner.total == 5
    # A folder that is not a commit is rendered every time.
    renderer.render(src("kust"), SourceTree(repo), APP)
    renderer.render(src("kust"), SourceTree(repo), APP)
    assert renderer.runner.total == 7


def test_every_caller_gets_its_own_objects(renderer: Renderer, repo: Path) -> None:
    first = renderer.render(src("plain"), SourceTree(repo, SHA), APP)
    first[0]["metadata"]["name"] = "changed by a caller"
    assert names(renderer.render(src("plain"), SourceTree(repo, SHA), APP)) == ["plain"]


def test_a_failure_is_cached_but_a_timeout_is_not(tmp_path: Path, tools: Tools) -> None:
    bad = read_only(write(tmp_path / "bad", {"app/kustomization.yaml": "resources: [missing.yaml]\n"}))
    renderer = Renderer(tools)
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            renderer.render(src("app"), SourceTree(bad, SHA), APP)
    assert renderer.runner.total == 0  # refused before kustomize; the second answer came from the cache
    assert renderer.cache.hits == 1
    slow = tmp_path / "kustomize"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    ok = read_only(
        write(tmp_path / "ok", {"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": cm("x")})
    )
    timing_out = Renderer(Tools(helm=tools.helm, kustomize=str(slow)), RenderSettings(timeout=0.3))
    for _ in range(2):
        with pytest.raises(ValidationFailed, match=r"kustomize build did not finish within 0\.3s"):
            timing_out.render(src("app"), SourceTree(ok, SHA), APP)
    assert timing_out.runner.total == 2


def test_concurrent_renders_of_one_key_share_one_run(tools: Tools, repo: Path) -> None:
    renderer = Renderer(tools)
    results: list[list[dict[str, Any]]] = []
    barrier = threading.Barrier(8)

    def render() -> None:
        barrier.wait()
        results.append(renderer.render(src("chart"), SourceTree(repo, SHA), APP))

    threads = [threading.Thread(target=render) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert renderer.runner.launches == {"helm": 1}


async def test_render_async_runs_off_the_event_loop(renderer: Renderer, repo: Path) -> None:
    objects = await renderer.render_async(src("chart"), SourceTree(repo, SHA), APP)
    assert names(objects) == ["shop-web"]


# Several sources ------------------------------------------------------------------------------


@pytest.fixture
def values_repo(tmp_path: Path) -> Path:
    return read_only(
        write(
            tmp_path / "values-repo",
            {
                "envs/prod/values.yaml": "greeting: from-the-values-repo\n",
                "extra/cm.yaml": cm("extra"),
            },
        )
    )


def test_sources_with_ref_values(renderer: Renderer, repo: Path, values_repo: Path) -> None:
    sources = [
        src("chart", helm={"valueFiles": ["$values/envs/prod/values.yaml"]}),
        ApplicationSource.from_dict({"repoURL": "https://example.com/values.git", "ref": "values"}),
    ]
    trees = [SourceTree(repo, SHA), SourceTree(values_repo, "e" * 40)]
    objects = renderer.render_sources(sources, trees, APP)
    # The ref-only source gives no objects of its own.
    assert names(objects) == ["shop-web"]
    assert by_name(objects, "shop-web")["data"] == {"greeting": "from-the-values-repo"}
    # A ref source with a path is rendered as well.
    sources[1] = ApplicationSource.from_dict(
        {"repoURL": "https://example.com/values.git", "ref": "values", "path": "extra"}
    )
    assert names(renderer.render_sources(sources, trees, APP)) == ["shop-web", "extra"]


def test_a_new_commit_of_the_ref_source_is_a_new_render(
    renderer: Renderer, repo: Path, values_repo: Path
) -> None:
    sources = [
        src("chart", helm={"valueFiles": ["$values/envs/prod/values.yaml"]}),
        ApplicationSource.from_dict({"repoURL": "https://example.com/values.git", "ref": "values"}),
    ]
    renderer.render_sources(sources, [SourceTree(repo, SHA), SourceTree(values_repo, "e" * 40)], APP)
    renderer.render_sources(sources, [SourceTree(repo, SHA), SourceTree(values_repo, "e" * 40)], APP)
    assert renderer.runner.total == 1
    renderer.render_sources(sources, [SourceTree(repo, SHA), SourceTree(values_repo, "f" * 40)], APP)
    assert renderer.runner.total == 2


def test_ref_values_problems(renderer: Renderer, repo: Path, values_repo: Path) -> None:
    sources = [
        src("chart", helm={"valueFiles": ["$nope/values.yaml", "$values/../../../etc/passwd"]}),
        ApplicationSource.from_dict({"repoURL": "https://example.com/values.git", "ref": "values"}),
        src("plain"),
        src("plain"),
    ]
    trees = [
        SourceTree(repo, SHA),
        SourceTree(values_repo, "e" * 40),
        SourceTree(repo, SHA),
        SourceTree(repo, SHA),
    ]
    with pytest.raises(ValidationFailed) as failure:
        renderer.render_sources(sources, trees, APP)
    assert [str(p) for p in failure.value.problems] == [
        "$nope/values.yaml: sources[0]: spec helm.valueFiles[0]: no source has ref: nope",
        "$values/../../../etc/passwd: sources[0]: spec helm.valueFiles[1] '$values/../../../etc/passwd': "
        "leaves the repository",
        "plain: sources[3]: ConfigMap plain is also declared by sources[2]",
    ]
