from __future__ import annotations

from pathlib import Path

import pytest

from gitward.local import toolchain


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path / "cache"))


def test_tools_live_under_name_and_version_in_the_cache(tmp_path: Path) -> None:
    etcd = next(t for t in toolchain.TOOLS if t.name == "etcd")
    assert etcd.directory == tmp_path / "cache" / f"etcd-{etcd.version}"
    assert toolchain.find("etcd") == etcd.directory / "bin" / "etcd"


def test_a_tool_counts_as_built_only_when_complete() -> None:
    kube = next(t for t in toolchain.TOOLS if t.name == "kubernetes")
    assert set(kube.commands) == {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"}
    (kube.directory / "bin").mkdir(parents=True)
    for command in kube.commands:
        kube.path(command).write_text("")
    assert not kube.is_built(), "binaries without the completion marker are an interrupted build"
    (kube.directory / ".complete").write_text("{}")
    assert kube.is_built()
    kube.path("kubectl").unlink()
    assert not kube.is_built()
    assert kube in toolchain.missing()


def test_ensure_with_everything_cached_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for tool in toolchain.TOOLS:
        (tool.directory / "bin").mkdir(parents=True)
        (tool.directory / ".complete").write_text("{}")
        for command in tool.commands:
            tool.path(command).write_text("")
        tool.share.mkdir()
        for item in tool.data:
            (tool.share / Path(item).name).write_text("")

    def no_build(*_: object) -> None:
        raise AssertionError("a cache hit must not build")

    monkeypatch.setattr(toolchain, "build", no_build)
    toolchain.ensure()


def test_an_environment_override_points_at_the_users_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_TOOL_KUBE_APISERVER", "/opt/k8s/kube-apiserver")
    assert toolchain.find("kube-apiserver") == Path("/opt/k8s/kube-apiserver")


def test_building_without_go_says_what_is_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(toolchain.ToolchainError, match=r"needs Go 1\.26 or newer"):
        toolchain.ensure()


def test_kwok_is_not_built_without_its_stage_files() -> None:
    kwok = next(t for t in toolchain.TOOLS if t.name == "kwok")
    assert kwok.data, "kwok simulates nothing without its Stage set"
    (kwok.directory / "bin").mkdir(parents=True)
    kwok.path("kwok").write_text("")
    (kwok.directory / ".complete").write_text("{}")
    assert not kwok.is_built()
    kwok.share.mkdir()
    for item in kwok.data:
        (kwok.share / Path(item).name).write_text("kind: Stage\n")
    assert kwok.is_built()
