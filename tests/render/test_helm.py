"""The Helm renderer on real charts with the real helm binary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitward.model import ApplicationSource
from gitward.render import (
    AppContext,
    Limits,
    Renderer,
    RenderError,
    RenderSettings,
    SourceTree,
    Tools,
    ValidationFailed,
)
from tests.render.conftest import by_name, cm, fingerprint, launches, logging_wrapper, names, read_only, write

SHA = "b" * 40
APP = AppContext("shop", "dest-ns")

WEB_CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
data:
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
  countKind: {{ kindOf .Values.count | quote }}
  list: {{ .Values.list | default "" | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  hasThings: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
"""

HOOK = """apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: busybox}]
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(
        root,
        {
            "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n"
            "- name: common\n  version: 0.1.0\n  repository: file://../../lib/common\n"
            "- name: sub\n  version: 0.1.0\n",
            "charts/web/values.yaml": "greeting: base\nreplicas: 1\ncount: 1\n",
            "charts/web/values-prod.yaml": "greeting: prod\n",
            "charts/web/templates/cm.yaml": WEB_CM,
            "charts/web/templates/hook.yaml": HOOK,
            "charts/web/crds/thing.yaml": "apiVersion: apiextensions.k8s.io/v1\n"
            "kind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n",
            # A vendored subchart (a folder in charts/): used as is, no dependency build for it.
            "charts/web/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
            "charts/web/charts/sub/templates/cm.yaml": cm("{{ .Release.Name }}-sub"),
            "envs/prod.yaml": "replicas: 5\n",
            "lib/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
            "lib/common/templates/cm.yaml": cm("{{ .Release.Name }}-common"),
        },
    )
    return read_only(root)


def helm(path: str = "charts/web", **options: Any) -> ApplicationSource:
    spec: dict[str, Any] = {"repoURL": "https://example.com/repo.git", "path": path}
    if options:
        spec["helm"] = options
    return ApplicationSource.from_dict(spec)


def web_data(objects: list[dict[str, Any]], release: str = "shop") -> dict[str, str]:
    data: dict[str, str] = by_name(objects, f"{release}-web")["data"]  # type: ignore[assignment]
    return data


def problems_of(renderer: Renderer, src: ApplicationSource, root: Path, app: AppContext = APP) -> list[str]:
    with pytest.raises(ValidationFailed) as failure:
        renderer.render(src, SourceTree(root, SHA), app)
    return [str(p) for p in failure.value.problems]


def test_a_chart_with_local_dependencies_crds_and_hooks(renderer: Renderer, repo: Path) -> None:
    before = fingerprint(repo)
    objects = renderer.render(helm(), SourceTree(repo, SHA), APP)
    # Release name = the app's name, namespace = the destination's; CRDs included; hooks kept.
    assert sorted(names(objects)) == [
        "shop-common",
        "shop-migrate",
        "shop-sub",
        "shop-web",
        "things.example.com",
    ]
    cm_ = by_name(objects, "shop-web")
    assert cm_["metadata"]["namespace"] == "dest-ns"  # type: ignore[index]
    assert web_data(objects)["greeting"] == "base"
    hook = by_name(objects, "shop-migrate")
    assert hook["metadata"]["annotations"] == {  # type: ignore[index]
        "helm.sh/hook": "pre-install,pre-upgrade",
        "helm.sh/hook-delete-policy": "before-hook-creation",
    }
    # One `helm dependency build` (offline, for the file:// dependency) in a shadow, then the template.
    assert renderer.runner.launches == {"helm": 2}
    assert fingerprint(repo) == before


def test_release_name_namespace_kube_version_api_versions_and_skip_crds(
    renderer: Renderer, repo: Path
) -> None:
    src = helm(
        releaseName="custom",
        namespace="helm-ns",
        kubeVersion="1.31.4",
        apiVersions=["example.com/v1"],
        skipCrds=True,
    )
    objects = renderer.render(src, SourceTree(repo, SHA), APP)
    assert "things.example.com" not in names(objects)
    data = web_data(objects, "custom")
    assert by_name(objects, "custom-web")["metadata"]["namespace"] == "helm-ns"  # type: ignore[index]
    assert data["kube"] == "v1.31.4"
    assert data["hasThings"] == "true"
    plain = web_data(renderer.render(helm(), SourceTree(repo, SHA), APP))
    assert plain["hasThings"] == "false"


def test_values_precedence_value_files_values_object_and_parameters(renderer: Renderer, repo: Path) -> None:
    tree = SourceTree(repo, SHA)
    # chart values < valueFiles in order < values < parameters
    data = web_data(
        renderer.render(
            helm(
                valueFiles=["values-prod.yaml", "../../envs/prod.yaml"], values="greeting: inline\ncount: 3\n"
            ),
            tree,
            APP,
        )
    )
    assert (data["greeting"], data["replicas"], data["countKind"]) == ("inline", "5", "float64")
    data = web_data(
        renderer.render(
            helm(
                valueFiles=["values-prod.yaml"],
                parameters=[
                    {"name": "greeting", "value": "param"},
                    {"name": "count", "value": "7", "forceString": True},
                    {"name": "list", "value": "a,b"},
                ],
            ),
            tree,
            APP,
        )
    )
    # --set-string keeps "7" a string; a comma in a value is escaped, not a second --set pair.
    assert (data["greeting"], data["countKind"], data["list"]) == ("param", "string", "a,b")
    # valuesObject wins over values (Argo CD), and goes under the parameters.
    data = web_data(
        renderer.render(helm(values="greeting: text\n", valuesObject={"greeting": "object"}), tree, APP)
    )
    assert data["greeting"] == "object"


def test_missing_value_files_are_errors_unless_ignored(renderer: Renderer, repo: Path) -> None:
    assert problems_of(renderer, helm(valueFiles=["nope.yaml"]), repo) == [
        "nope.yaml: spec helm.valueFiles[0] 'nope.yaml': no such file or folder in the repository"
    ]
    src = helm(valueFiles=["nope.yaml", "values-prod.yaml"], ignoreMissingValueFiles=True)
    assert web_data(renderer.render(src, SourceTree(repo, SHA), APP))["greeting"] == "prod"


@pytest.mark.parametrize("ignore_missing", [False, True])
def test_value_files_leaving_the_repository_are_refused(
    renderer: Renderer, tmp_path: Path, ignore_missing: bool
) -> None:
    root = tmp_path / "r"
    write(
        root,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            "chart/templates/cm.yaml": cm("x"),
            "etc/hostname": "greeting: from-the-repository\n",
        },
    )
    (root / "values").mkdir()
    (root / "values" / "link.yaml").symlink_to("/etc/hostname")
    (root / "values" / "dotdot.yaml").symlink_to("../../outside.yaml")
    (tmp_path / "outside.yaml").write_text("greeting: outside\n")
    read_only(root)
    src = helm(
        "chart",
        valueFiles=[
            "../../../../../etc/passwd",
            "../values/link.yaml",
            "../values/dotdot.yaml",
            "../chart/../../outside.yaml",
        ],
        ignoreMissingValueFiles=ignore_missing,
    )
    assert problems_of(renderer, src, root) == [
        "../../../../../etc/passwd: spec helm.valueFiles[0] '../../../../../etc/passwd': "
        "leaves the repository",
        "../chart/../../outside.yaml: spec helm.valueFiles[3] '../chart/../../outside.yaml': "
        "leaves the repository",
        "../values/dotdot.yaml: spec helm.valueFiles[2] '../values/dotdot.yaml': leaves the repository",
        "../values/link.yaml: spec helm.valueFiles[1] '../values/link.yaml': leaves the repository",
    ]
    assert renderer.runner.total == 0
    # An absolute path is read from the repository's top (Argo CD's rule), never from the host.
    objects = renderer.render(helm("chart", valueFiles=["/etc/hostname"]), SourceTree(root, SHA), APP)
    assert names(objects) == ["x"]
    missing = problems_of(renderer, helm("chart", valueFiles=["/etc/passwd"]), root)
    assert missing == [
        "/etc/passwd: spec helm.valueFiles[0] '/etc/passwd': no such file or folder in the repository"
    ]


def test_a_symlink_out_of_the_repository_inside_the_chart_is_refused(
    renderer: Renderer, tmp_path: Path
) -> None:
    root = tmp_path / "r"
    write(
        root,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            # .Files.Get would put the host's file into the ConfigMap.
            "chart/templates/cm.yaml": cm("x", data='data:\n  f: {{ .Files.Get "files/leak" | quote }}\n'),
        },
    )
    (root / "chart" / "files").mkdir()
    (root / "chart" / "files" / "leak").symlink_to("/etc/hostname")
    read_only(root)
    assert problems_of(renderer, helm("chart"), root) == [
        "chart/files/leak: symlink points outside the repository"
    ]


def test_file_dependencies_must_stay_in_the_repository(renderer: Renderer, tmp_path: Path) -> None:
    write(tmp_path / "elsewhere", {"Chart.yaml": "apiVersion: v2\nname: dep\nversion: 0.1.0\n"})
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n"
                "- name: dep\n  version: 0.1.0\n  repository: file://../../elsewhere\n",
            },
        )
    )
    assert problems_of(renderer, helm("chart"), root) == [
        "chart/Chart.yaml: dependency dep file://../../elsewhere: leaves the repository"
    ]


def test_a_dependency_from_a_helm_repository_needs_the_network(
    tools: Tools, settings: RenderSettings, tmp_path: Path, helm_repo: tuple[str, Path]
) -> None:
    url, _ = helm_repo
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n"
                f"- name: hello\n  version: 0.1.0\n  repository: {url}\n",
                "chart/templates/cm.yaml": cm("own"),
            },
        )
    )
    closed = Renderer(tools, settings)
    with pytest.raises(ValidationFailed) as failure:
        closed.render(helm("chart"), SourceTree(root, SHA), APP)
    assert [str(p) for p in failure.value.problems] == [
        f"chart/Chart.yaml: dependency hello from {url} is not in charts/, and fetching it needs the "
        "network, which rendering is not allowed to use (vendor it into charts/)"
    ]
    opened = Renderer(tools, RenderSettings(allow_network=True, scratch_dir=settings.scratch_dir))
    assert sorted(names(opened.render(helm("chart"), SourceTree(root, SHA), APP))) == ["own", "shop-hello"]


def test_helm_output_is_validated_naming_the_template(renderer: Renderer, tmp_path: Path) -> None:
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: mychart\nversion: 1.0.0\n",
                "chart/templates/a.yaml": cm("same"),
                "chart/templates/b.yaml": cm("same") + "---\napiVersion: v1\nkind: Secret\nmetadata: {}\n"
                "stringData: {password: hunter2-output}\n",
            },
        )
    )
    found = problems_of(renderer, helm("chart"), root)
    # helm orders its output by kind (Secrets before ConfigMaps): the indexes are the output's.
    assert found == [
        "chart/templates/b.yaml: document 1 of the helm template output: Secret has no metadata.name",
        "chart/templates/b.yaml: document 3 of the helm template output: ConfigMap same is declared twice "
        "(first at chart/templates/a.yaml (document 2 of the helm template output))",
    ]
    assert "hunter2" not in "\n".join(found)


def test_template_errors_carry_helms_file_line_and_column(renderer: Renderer, tmp_path: Path) -> None:
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: mychart\nversion: 1.0.0\n",
                "chart/templates/cm.yaml": cm(
                    "x", data='data:\n  a: {{ required "a is required" .Values.a }}\n'
                ),
            },
        )
    )
    found = problems_of(renderer, helm("chart"), root)
    assert len(found) == 1
    assert found[0].startswith("chart/templates/cm.yaml:6:")
    assert found[0].endswith("a is required")


def test_secret_looking_values_never_appear_in_helm_errors(renderer: Renderer, tmp_path: Path) -> None:
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: mychart\nversion: 1.0.0\n",
                "chart/values.yaml": "db: {}\n",
                "chart/secret.yaml": "db:\n  password: hunter2-from-file\n",
                "chart/templates/cm.yaml": "{{ fail (printf "
                '"bad %s %s" .Values.db.password .Values.token) }}\n',
            },
        )
    )
    for src in (
        helm("chart", valueFiles=["secret.yaml"], parameters=[{"name": "token", "value": "hunter2-param"}]),
        helm("chart", valuesObject={"db": {"password": "hunter2-object"}, "token": "hunter2-object-token"}),
    ):
        found = problems_of(renderer, src, root)
        assert "helm template failed" in found[0]
        assert "hunter2" not in "\n".join(found), found


def test_helm_runs_with_private_homes_never_the_users(
    tools: Tools, tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "user"
    for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME", "KUBECONFIG", "HOME"):
        monkeypatch.setenv(name, str(user / name.lower()))
    monkeypatch.setenv("HELM_DRIVER", "sql")
    wrapper, log = logging_wrapper(tmp_path, tools.helm, "helm")
    renderer = Renderer(Tools(helm=wrapper, kustomize=tools.kustomize), RenderSettings(scratch_dir=tmp_path))
    renderer.render(helm(), SourceTree(repo, SHA), APP)
    env = dict(
        line[4:].split("=", 1)
        for line in log.read_text().splitlines()
        if line.startswith("ENV ") and "=" in line
    )
    assert len(launches(log)) == 2
    for name in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME", "KUBECONFIG", "HOME"):
        assert env[name].startswith(str(tmp_path / "gitward-render-")), name
    assert "HELM_DRIVER" not in env
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:9"  # no network for this render


def test_a_chart_from_a_helm_repository(
    tools: Tools, settings: RenderSettings, helm_repo: tuple[str, Path]
) -> None:
    url, _ = helm_repo
    chart = ApplicationSource.from_dict(
        {
            "repoURL": url,
            "chart": "hello",
            "targetRevision": "0.1.0",
            "helm": {"valueFiles": ["values-loud.yaml"]},
        }
    )
    first = Renderer(tools, settings)
    objects = first.render(chart, None, APP)
    assert objects == [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shop-hello"},
            "data": {"version": "0.1.0", "greeting": "HI"},
        }
    ]
    assert first.runner.launches == {"helm": 2}  # pull, template
    # Another renderer (cold render cache) on the same charts folder: the pulled chart is reused.
    second = Renderer(tools, settings)
    assert second.render(chart, None, APP) == objects
    assert second.runner.launches == {"helm": 1}
    # A version range is resolved by helm against the repository's index, every time.
    ranged = ApplicationSource.from_dict({"repoURL": url, "chart": "hello", "targetRevision": ">=0.1.0"})
    assert by_name(second.render(ranged, None, APP), "shop-hello")["data"]["version"] == "0.2.0"  # type: ignore[index]
    missing = ApplicationSource.from_dict({"repoURL": url, "chart": "hello", "targetRevision": "9.9.9"})
    with pytest.raises(RenderError, match=r"cannot pull chart hello 9\.9\.9"):
        second.render(missing, None, APP)


def test_value_files_are_checked_like_manifests_before_helm_reads_them(
    tools: Tools, settings: RenderSettings, tmp_path: Path
) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(7)
    )
    root = read_only(
        write(
            tmp_path / "r",
            {
                "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
                "chart/templates/cm.yaml": cm("x"),
                "chart/bomb.yaml": bomb,
                "chart/big.yaml": "a: " + "x" * 2000 + "\n",
                "chart/broken.yaml": "a: [1\n",
            },
        )
    )
    small = Renderer(
        tools, RenderSettings(limits=Limits(max_file_bytes=1000), scratch_dir=settings.scratch_dir)
    )
    with pytest.raises(ValidationFailed) as failure:
        small.render(
            helm("chart", valueFiles=["bomb.yaml", "big.yaml", "broken.yaml"]), SourceTree(root, SHA), APP
        )
    found = [str(p) for p in failure.value.problems]
    assert found[0] == "chart/big.yaml: file is 2,004 bytes, over the limit of 1,000"
    # The alias that takes the count past the limit is named.
    assert found[1] == "chart/bomb.yaml:6:36: YAML aliases expand to more than 1,000,000 nodes"
    assert found[2].startswith("chart/broken.yaml:2:1: malformed YAML")
    assert small.runner.total == 0
