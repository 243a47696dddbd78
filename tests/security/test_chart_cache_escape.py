"""Finding 5: a chart name used as a path of the chart cache, unchecked.

The chart cache keeps pulled charts at `<cache>/charts/<repo-key>/<chart>-<version>/<chart>/`
and Git checkouts at `<cache>/git/trees/<repo-key>/<sha>/`. A chart source named
`../../git/trees/<attacker>/<sha>/x` with version 0.1.0 made that path climb
into the attacker's own checkout, where two symlinks (`x-0.1.0 -> ../..` and
`x -> <another team's cached chart>`) led to the other repository's chart:
helm templated it, with its values, for the attacker's app.

Checked here, each with the real layout of the cache and a real cached chart
of another repository:
- the spec is refused (an InvalidSpecError naming source.chart);
- the renderer, called with a source that never went through the model,
  refuses it before any process starts, and shows nothing of the other chart;
- the cache's own functions refuse a traversing name or version, and a
  repository folder that is a symlink to another repository's;
- a chart or kustomization from Git that links into the cache is refused;
- end to end, links pushed to a tenant's repository reach no other
  repository's checkout in the controller's cache, while the bystander heals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.model import ApplicationSource, SpecError
from gitward.render import (
    AppContext,
    Renderer,
    RenderError,
    RenderSettings,
    SourceTree,
    Tools,
    ValidationFailed,
)
from gitward.render.charts import _key, chart_folder, store_chart
from tests.e2e.support import app_status, condition, live, until
from tests.helpers import Cluster
from tests.render.conftest import helm_bin, helm_repo, http_folder, kustomize_bin, tools  # noqa: F401
from tests.security.conftest import Bystander
from tests.source.servers import Upstream

ATTACKER = "https://attacker.example/charts"
SHA = "a" * 40
APP = AppContext("evil", "team-a")


class Cache:
    """gitward's cache folder as the controller lays it out, holding team-b's chart `hello` 0.1.0."""

    def __init__(self, tmp_path: Path, tools: Tools, victim_url: str) -> None:  # noqa: F811
        self.root = tmp_path / "cache"
        self.charts = self.root / "charts"
        self.trees = self.root / "git" / "trees"
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        self.renderer = Renderer(tools, RenderSettings(scratch_dir=scratch, charts_dir=self.charts))
        self.victim_url = victim_url
        # Team B's app renders its chart: now it is in the cache, read-only.
        objects = self.renderer.render(self.chart_source(victim_url, "hello", "0.1.0"), None, AppContext("b"))
        assert objects[0]["data"]["greeting"] == "hi"
        self.victim_chart = self.charts / _key(victim_url) / "hello-0.1.0" / "hello"
        assert (self.victim_chart / "values.yaml").is_file()
        # The attacker's folder in the chart cache exists (any earlier pull from their repository makes it).
        (self.charts / _key(ATTACKER)).mkdir()

    @staticmethod
    def chart_source(url: str, chart: str, version: str) -> ApplicationSource:
        return ApplicationSource(url, chart=chart, target_revision=version)

    def attacker_checkout(self, files: dict[str, str], links: dict[str, str]) -> Path:
        """The attacker's commit as the Git cache checks it out: `<cache>/git/trees/<key>/<sha>/`."""
        tree = self.trees / "attacker.example_team-a-0123456789abcdef" / SHA
        for name, text in files.items():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_text(text)
        tree.mkdir(parents=True, exist_ok=True)
        for name, target in links.items():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).symlink_to(target)
        return tree


@pytest.fixture
def cache(tmp_path: Path, tools: Tools, helm_repo: tuple[str, Path]) -> Cache:  # noqa: F811
    return Cache(tmp_path, tools, helm_repo[0])


def climbing_name(cache: Cache) -> str:
    """The reported attack: two links in the attacker's checkout and a chart name that walks into it."""
    tree = cache.attacker_checkout(
        {},
        {
            "x-0.1.0": "../..",  # <trees>/<key>/<sha>/x-0.1.0 -> <trees>; two levels up is the cache root
            "x": f"../../../../charts/{_key(cache.victim_url)}/hello-0.1.0/hello",
        },
    )
    name = f"../../git/trees/{tree.parent.name}/{SHA}/x"
    # The path the unchecked code built really does reach the other team's chart.
    assert (cache.charts / _key(ATTACKER) / f"{name}-0.1.0" / name).resolve() == cache.victim_chart.resolve()
    return name


def test_the_spec_with_a_climbing_chart_name_is_an_invalid_spec(cache: Cache) -> None:
    name = climbing_name(cache)
    with pytest.raises(SpecError, match=r"^source\.chart: "):
        ApplicationSource.from_dict({"repoURL": ATTACKER, "chart": name, "targetRevision": "0.1.0"})


def test_the_renderer_refuses_the_climbing_name_before_any_process_and_shows_nothing_of_the_other_chart(
    cache: Cache,
) -> None:
    name = climbing_name(cache)
    started = cache.renderer.runner.total
    with pytest.raises(ValidationFailed) as failure:
        cache.renderer.render(Cache.chart_source(ATTACKER, name, "0.1.0"), None, APP)
    message = "\n".join(str(p) for p in failure.value.problems)
    assert "source.chart" in message
    assert "greeting" not in message and "hello-0.1.0" not in message
    assert cache.renderer.runner.total == started


@pytest.mark.parametrize(
    ("chart", "version"),
    [
        ("../hello", "0.1.0"),
        ("hello/../../x", "0.1.0"),
        ("..", "0.1.0"),
        ("hello", "../0.1.0"),
        ("-x", "1.0.0"),
    ],
)
def test_the_cache_itself_refuses_names_and_versions_that_are_not_one_plain_part(
    cache: Cache, chart: str, version: str
) -> None:
    with pytest.raises(RenderError):
        chart_folder(cache.charts, ATTACKER, chart, version)


def test_a_repository_folder_of_the_cache_linked_to_another_repositorys_is_refused(cache: Cache) -> None:
    mine = cache.charts / _key(ATTACKER)
    mine.rmdir()
    mine.symlink_to(cache.charts / _key(cache.victim_url))
    with pytest.raises(RenderError, match="outside its folder of the chart cache"):
        chart_folder(cache.charts, ATTACKER, "hello", "0.1.0")
    with pytest.raises(RenderError, match="outside its folder of the chart cache"):
        cache.renderer.render(Cache.chart_source(ATTACKER, "hello", "0.1.0"), None, APP)


def test_a_pulled_chart_holding_a_link_out_of_itself_is_not_stored(cache: Cache, tmp_path: Path) -> None:
    pulled = tmp_path / "pulled"
    (pulled / "evil").mkdir(parents=True)
    (pulled / "evil" / "Chart.yaml").write_text("apiVersion: v2\nname: evil\nversion: 0.1.0\n")
    (pulled / "evil" / "values.yaml").symlink_to(cache.victim_chart / "values.yaml")
    with pytest.raises(RenderError, match="symlink points outside"):
        store_chart(cache.charts, ATTACKER, "evil", pulled)
    assert not (cache.charts / _key(ATTACKER) / "evil-0.1.0").exists()


def test_a_chart_from_git_linking_into_the_chart_cache_is_refused(cache: Cache) -> None:
    victim = cache.victim_chart
    tree = cache.attacker_checkout(
        {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n"},
        {
            "chart/values.yaml": str(victim / "values.yaml"),
            "whole": str(victim),
            "chart/templates": "../whole",
        },
    )
    for path in ("chart", "whole"):
        source = ApplicationSource(ATTACKER, path)
        with pytest.raises(ValidationFailed) as failure:
            cache.renderer.render(source, SourceTree(tree, SHA), APP)
        message = "\n".join(str(p) for p in failure.value.problems)
        assert "outside the repository" in message or "leaves the repository" in message, message


def test_a_link_out_behind_a_link_to_a_folder_inside_the_repository_is_found(cache: Cache) -> None:
    """helm follows `templates -> ../stuff`; a link out inside `stuff` is as much the chart's."""
    tree = cache.attacker_checkout(
        {"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n"},
        {
            "chart/templates": "../stuff",
            "stuff/cm.yaml": str(cache.victim_chart / "templates" / "cm.yaml"),
            "stuff/loop": "..",  # a loop back up is walked once, not forever
        },
    )
    started = cache.renderer.runner.total
    with pytest.raises(ValidationFailed) as failure:
        cache.renderer.render(ApplicationSource(ATTACKER, "chart"), SourceTree(tree, SHA), APP)
    assert [str(p) for p in failure.value.problems] == [
        "chart/templates/cm.yaml: symlink points outside the repository"
    ]
    assert cache.renderer.runner.total == started


def test_a_kustomization_file_linked_to_another_repositorys_checkout_is_refused(cache: Cache) -> None:
    # Team B's checkout in the same cache, with a generated Secret in its kustomization.
    other = cache.trees / "git.example_team-b-fedcba9876543210" / ("b" * 40)
    other.mkdir(parents=True)
    (other / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: db\n  literals: [password=team-b-secret]\n"
    )
    tree = cache.attacker_checkout({}, {"app/kustomization.yaml": str(other / "kustomization.yaml")})
    started = cache.renderer.runner.total
    with pytest.raises(ValidationFailed) as failure:
        cache.renderer.render(ApplicationSource(ATTACKER, "app"), SourceTree(tree, SHA), APP)
    message = "\n".join(str(p) for p in failure.value.problems)
    assert "kustomization.yaml: leaves the repository" in message, message
    assert "team-b-secret" not in message
    assert cache.renderer.runner.total == started


# End to end, as a tenant: links pushed to the attacker's own repository, Applications in the cluster. ----


def _evil_app(namespace: str, name: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"{namespace}-evil"},
            "source": {"targetRevision": "main", **source},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


@pytest.mark.cluster
async def test_links_in_a_tenants_repository_reach_no_other_repository_in_the_controllers_cache(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    tmp_path: Path,
) -> None:
    url, upstream = repo
    # The bystander's checkout in the controller's Git cache: what the attacker aims at.
    checkouts = [p for p in (tmp_path / "git" / "trees").glob("*/*") if (p / "deploy").is_dir()]
    assert len(checkouts) == 1, checkouts
    target = checkouts[0] / "deploy"
    # The attacker's own repository, served beside the bystander's: links, and a chart around them.
    evil = Upstream(upstream.path.parent / "evil")
    evil_url = f"{url.rsplit('/', 1)[0]}/evil"
    (evil.path / "chart" / "templates").parent.mkdir(parents=True)
    (evil.path / "chart" / "templates").symlink_to(target)
    (evil.path / "steal").symlink_to(target)
    (evil.path / "x-0.1.0").symlink_to("../..")
    (evil.path / "x").symlink_to(target)
    evil.commit({"chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"})

    apps = {
        # The reported shape: a chart name that walks out of the chart cache into the checkout.
        "evil-chart": (
            {"repoURL": "https://charts.example/evil", "chart": "../../git/trees/k/s/x"},
            "source.chart",
        ),
        # A Git folder and a chart folder that are links to another repository's checkout.
        "evil-path": ({"repoURL": evil_url, "path": "steal"}, "path leaves the repository"),
        "evil-helm": ({"repoURL": evil_url, "path": "chart"}, "symlink points outside the repository"),
    }
    for name, (source, _) in apps.items():
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_evil_app(namespace, name, source)))
    for name, (_, expected) in apps.items():
        kind = "InvalidSpecError" if name == "evil-chart" else "ComparisonError"
        found = await until(
            lambda name=name, kind=kind: condition(app_status(cluster, namespace, name), kind),
            timeout=60,
            what=f"{name} {kind}",
        )
        assert expected in found["message"], found
    await bystander.heals()
    # Nothing of the bystander's files was deployed for the attacker.
    assert live(cluster, "deployment", "web", f"{namespace}-evil") is None
    assert live(cluster, "configmap", "settings", f"{namespace}-evil") is None
