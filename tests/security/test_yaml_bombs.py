"""Finding 3: YAML whose aliases expand a small file into a huge value ("billion laughs").

The bound used to count nodes only, so a 1.4 KB file repeating a 1 KiB scalar
780,000 times passed it and rendered to 851 MB of JSON; a 7 MB scalar aliased
many times ran the controller out of memory. The expansion is now measured
in bytes (and nodes, and depth) from the parser's events, before anything is
built: the file is refused at the alias that crosses the limit, and refusing
it costs no more memory than reading the text.

Unit tests run the reader in a subprocess to measure its peak memory; the
end-to-end test pushes both bombs to a tenant's repository while the
controller serves a bystander app.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from gitward.controller.run import Controller
from gitward.model import ApplicationSource
from gitward.render import AppContext, Renderer, RenderSettings, SourceTree, Tools, render_directory
from gitward.render.documents import Limits, read_documents
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.validate import objects_from_output
from tests.e2e.support import CONFIG, app_status, condition, live, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.security.tenant import synced_tenant
from tests.source.servers import Upstream

MIB = 1024 * 1024

HEADER = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: laughs\ndata:\n  note: hello\n"


def laughs(scalar_bytes: int, fanouts: list[int]) -> str:
    """A ConfigMap whose `bomb` field repeats one scalar prod(fanouts) times through aliases."""
    lines = [HEADER.rstrip("\n"), "bomb:", f'  l0: &l0 "{"x" * scalar_bytes}"']
    for i, count in enumerate(fanouts, 1):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * count)}]")
    return "\n".join(lines) + "\n"


# The reported attack: a 1 KiB scalar, 780,000 times (about 800 MB once serialised), in 1.8 KB.
KIB_BOMB = laughs(1024, [10, 10, 10, 10, 78])
# A 7 MB scalar (under the 8 MiB file limit) repeated 1,000 times: 7 GB once serialised.
BIG_SCALAR_BOMB = laughs(7_000_000, [10, 10, 10])

# Reads a file as the directory renderer does, then serialises what it got as the render cache
# would; prints the problems and the process's peak RSS.
_PROBE = """
import json, resource, sys
from pathlib import Path
from gitward.render.validate import Limits, read_file_documents
problems = []
documents = read_file_documents(Path(sys.argv[1]), "bomb.yaml", Limits(), problems)
size = len(json.dumps([d.value for d in documents])) if documents is not None else 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"problems": [str(p) for p in problems], "size": size, "peak": peak}))
"""


def probe(tmp_path: Path, text: str) -> dict[str, object]:
    """What reading `text` as a manifest file gives, and its memory, measured in a fresh process."""
    file = tmp_path / f"probe-{secrets.token_hex(4)}.yaml"
    file.write_text(text)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(file)], capture_output=True, text=True, timeout=120, check=True
    )
    found: dict[str, object] = json.loads(done.stdout)
    return found


def peak_growth(tmp_path: Path, text: str) -> tuple[list[str], int]:
    """The problems of `text`, and how much more memory reading it took than reading a small manifest."""
    baseline = probe(tmp_path, HEADER)
    found = probe(tmp_path, text)
    assert isinstance(found["peak"], int) and isinstance(baseline["peak"], int)
    problems = found["problems"]
    assert isinstance(problems, list)
    return problems, found["peak"] - baseline["peak"]


def test_a_kib_scalar_repeated_780_000_times_is_refused_at_its_alias_without_expanding_it(
    tmp_path: Path,
) -> None:
    assert len(KIB_BOMB) < 2000
    problems, growth = peak_growth(tmp_path, KIB_BOMB)
    # Line 13 is `l5: &l5 [*l4, ...]`: each *l4 is 10,000 KiB, and the third takes the file past 32 MiB.
    assert problems == [
        "bomb.yaml:13:22: YAML aliases expand to more than 33,554,432 bytes (an alias bomb?)"
    ], problems
    assert growth < 32 * MIB, f"refusing the bomb took {growth / MIB:.0f} MiB more than a small file"


def test_a_7_mb_scalar_aliased_a_thousand_times_is_refused_with_memory_of_the_text_only(
    tmp_path: Path,
) -> None:
    problems, growth = peak_growth(tmp_path, BIG_SCALAR_BOMB)
    # Line 9 is `l1: &l1 [*l0, *l0, ...]`: the fourth alias, the fifth 7 MB copy, goes past 32 MiB.
    assert problems == ["bomb.yaml:9:27: YAML aliases expand to more than 33,554,432 bytes (an alias bomb?)"]
    # The text itself is 7 MB, and is read once as bytes and once decoded.
    assert growth < 64 * MIB, f"refusing the bomb took {growth / MIB:.0f} MiB more than a small file"


def test_documents_add_up_each_under_the_limit_together_over_it() -> None:
    # Anchors do not cross documents, so each document carries its own small bomb.
    one = "a: &a " + "x" * 1000 + "\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    assert read_documents(one, "f.yaml", limits=Limits(max_expanded_bytes=200_000))[1] == []
    _, problems = read_documents("---\n".join([one] * 5), "f.yaml", limits=Limits(max_expanded_bytes=200_000))
    assert [str(p) for p in problems] == [
        # The second document (lines 4-5) is the one that goes over.
        "f.yaml:5:393: YAML aliases expand to more than 200,000 bytes (an alias bomb?)"
    ]


def test_files_each_under_the_limits_add_up_against_the_render_budget(tmp_path: Path) -> None:
    # 30 MiB once expanded each, just under the per-file limit: a hundred of them would be 3 GB.
    one = laughs(1024, [100, 300]).replace("name: laughs", "name: laughs-{i}")
    for i in range(100):
        (tmp_path / f"bomb-{i:03}.yaml").write_text(one.replace("{i}", str(i)))
    renderer = Renderer(Tools(), RenderSettings())
    source = ApplicationSource.from_dict({"repoURL": "https://git.example/shop.git", "path": "."})
    with pytest.raises(ValidationFailed) as refused:
        renderer.render(source, SourceTree(tmp_path, "a" * 40), AppContext("shop", "shop"))
    problems = [str(p) for p in refused.value.problems]
    # The third file takes the render past 64 MiB; the rest are refused unread.
    assert (
        problems[0]
        == "bomb-002.yaml: with the files read before it, this render's YAML holds more than 67,108,864 bytes"
    )
    assert len(problems) == 98
    # A render of its own starts with a budget of its own.
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "cm.yaml").write_text(HEADER)
    more = ApplicationSource.from_dict({"repoURL": "https://git.example/shop.git", "path": "more"})
    assert renderer.render(more, SourceTree(tmp_path, "a" * 40), AppContext("shop", "shop"))


def test_a_plain_file_with_millions_of_tiny_nodes_is_refused_before_they_are_built(tmp_path: Path) -> None:
    flat = HEADER + "items: [" + ",".join(["a"] * 3_000_000) + "]\n"
    assert len(flat) < 8 * MIB
    problems, growth = peak_growth(tmp_path, flat)
    assert problems == ["bomb.yaml:7:1999979: the YAML holds more than 1,000,000 nodes"]
    assert growth < 64 * MIB, f"refusing the file took {growth / MIB:.0f} MiB"


def test_nesting_is_bounded_directly_and_through_aliases() -> None:
    deep = HEADER + "deep: " + "[" * 250 + "]" * 250 + "\n"
    assert [str(p) for p in read_documents(deep, "f.yaml")[1]] == [
        "f.yaml:7:206: collections nested more than 200 levels deep"
    ]
    # 150 levels under an anchor, used 100 levels down.
    stacked = "a: &a " + "[" * 150 + "]" * 150 + "\nb: " + "[" * 100 + "*a" + "]" * 100 + "\n"
    assert [str(p) for p in read_documents(stacked, "f.yaml")[1]] == [
        "f.yaml:2:104: YAML aliases nest collections more than 200 levels deep"
    ]
    # What real objects look like (a CRD schema nests a few dozen levels) reads fine.
    assert read_documents("x: " + "[" * 60 + "]" * 60 + "\n", "f.yaml")[1] == []


def test_a_recursive_alias_is_refused_at_the_alias() -> None:
    _, problems = read_documents("a: &a\n  b: [1, *a]\n", "f.yaml")
    assert [str(p) for p in problems] == ["f.yaml:2:10: a YAML alias refers to itself (recursive structure)"]


def test_the_limits_are_settings_and_ordinary_anchors_stay_fine(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        HEADER + "labels: &labels {app: web, tier: front}\nselector: *labels\ncopy: *labels\n"
    )
    assert render_directory(tmp_path)[0]["copy"] == {"app": "web", "tier": "front"}
    # It is about 210 bytes as JSON, half of it from the two aliases.
    assert render_directory(tmp_path, limits=Limits(max_expanded_bytes=220))
    with pytest.raises(ValidationFailed) as refused:
        render_directory(tmp_path, limits=Limits(max_expanded_bytes=190))
    assert str(refused.value) == "cm.yaml:9:7: YAML aliases expand to more than 190 bytes (an alias bomb?)"


def test_a_bomb_in_a_renderers_output_is_refused_like_a_file() -> None:
    # helm and kustomize output is capped in bytes by the tool runner, but a template can print aliases.
    problems: list[Problem] = []
    placed = objects_from_output(KIB_BOMB, "helm template", lambda _i, _line: "chart", Limits(), problems)
    assert placed == []
    assert [str(p) for p in problems] == [
        "chart: document 1 of the helm template output: "
        "YAML aliases expand to more than 33,554,432 bytes (an alias bomb?)"
    ]


# End to end --------------------------------------------------------------------------------------


def _vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@pytest.mark.cluster
async def test_alias_bombs_pushed_to_git_are_refused_and_the_controller_keeps_serving(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
) -> None:
    tenant = await synced_tenant(cluster, namespace, repo)

    for name, bomb, where in (
        ("laughs.yaml", KIB_BOMB, "deploy/laughs.yaml:13:22"),
        ("big-scalar.yaml", BIG_SCALAR_BOMB, "deploy/big-scalar.yaml:9:27"),
    ):
        for old in (tenant.upstream.path / "deploy").glob("*.yaml"):
            if old.name != "config.yaml":
                old.unlink()
        peak_reset = _reset_peak()
        before = _vm_kib("VmRSS")
        # The same commit changes the ConfigMap: none of it may be applied.
        tenant.upstream.commit({f"deploy/{name}": bomb, "deploy/config.yaml": CONFIG.format(colour="red")})

        def refused(where: str = where) -> dict[str, object] | None:
            found = condition(app_status(cluster, namespace, tenant.name), "ComparisonError")
            return found if found and where in str(found.get("message")) else None

        found = await until(refused, what=f"a ComparisonError naming {where}")
        assert "YAML aliases expand to more than 33,554,432 bytes" in str(found["message"])
        await bystander.heals()

        grown = _vm_kib("VmHWM" if peak_reset else "VmRSS") - before
        assert grown < 200 * 1024, f"the controller's memory grew by {grown / 1024:.0f} MiB reading {name}"
        status = app_status(cluster, namespace, tenant.name)
        assert status["sync"]["revision"] == tenant.good
        assert [h["revision"] for h in status["history"]] == [tenant.good]
        assert (live(cluster, "configmap", "settings", tenant.target) or {})["data"]["colour"] == "blue"
        assert live(cluster, "configmap", "laughs", tenant.target) is None
