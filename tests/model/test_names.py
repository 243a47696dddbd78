"""The rules for spec values that reach helm's or kustomize's command line, and the spec errors they give."""

from __future__ import annotations

import pytest

from gitward.model import ApplicationSource, SpecError, names

REPO = "https://git.example/team/app.git"


@pytest.mark.parametrize(
    "value",
    ["shop", "a", "my-app", "web.v2", "a" * 53, "0-day", "r1.r2.r3"],
)
def test_release_names_helm_accepts_pass(value: str) -> None:
    assert names.release_name(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "--post-renderer=sh",
        "-x",
        "",
        "a" * 54,
        "Shop",
        "shop-",
        "shop_1",
        "a..b",
        ".a",
        "a b",
        "a\x00b",
        "a/b",
    ],
)
def test_release_names_helm_refuses_are_refused(value: str) -> None:
    assert names.release_name(value) is not None


@pytest.mark.parametrize("value", ["default", "kube-system", "a", "n" * 63, "team-a-prod"])
def test_namespaces_that_are_dns_labels_pass(value: str) -> None:
    assert names.namespace(value) is None


@pytest.mark.parametrize(
    "value", ["--namespace=kube-system", "-n", "", "n" * 64, "a.b", "Team", "a_b", "ns-"]
)
def test_namespaces_that_are_not_dns_labels_are_refused(value: str) -> None:
    assert names.namespace(value) is not None


@pytest.mark.parametrize("value", ["nginx", "my_chart", "chart.v2", "kube-prometheus-stack", "_x"])
def test_chart_names_pass(value: str) -> None:
    assert names.chart_name(value) is None
    assert names.chart_name(value, path=False) is None


@pytest.mark.parametrize(
    "value",
    ["--post-renderer=sh", "-x", "", "..", ".", ".hidden", "a b", "a\nb", "a:b", "a\\b", "c" * 129],
)
def test_chart_names_that_could_be_a_flag_or_climb_a_folder_are_refused(value: str) -> None:
    assert names.chart_name(value) is not None


def test_a_chart_path_is_allowed_only_where_the_repository_is_oci_and_each_part_is_checked() -> None:
    assert names.chart_name("team/nginx") is None
    assert names.chart_name("team/nginx", path=False) is not None
    for bad in ("team/../nginx", "../nginx", "team//nginx", "team/-x", "/nginx", "nginx/", "a/./b"):
        assert names.chart_name(bad) is not None, bad


@pytest.mark.parametrize("value", ["1.2.3", "v1.2.3", "1.2.3-rc.1+build.5", "0.1.0"])
def test_chart_versions_pass(value: str) -> None:
    assert names.chart_version(value) is None


@pytest.mark.parametrize("value", ["", "-1.0.0", "..", ".1", "1.0/2", "1.0 0", "a" * 129])
def test_chart_versions_that_cannot_name_a_folder_are_refused(value: str) -> None:
    assert names.chart_version(value) is not None


@pytest.mark.parametrize("value", ["main", "v1.2.0", "^1.2", ">=1.0.0 <2.0.0", "*", "HEAD", "a" * 40])
def test_revisions_pass(value: str) -> None:
    assert names.revision(value) is None


@pytest.mark.parametrize("value", ["--upload-pack=sh", " -x", "main\x00", "a\nb", "r" * 1025])
def test_revisions_that_could_be_a_flag_are_refused(value: str) -> None:
    assert names.revision(value) is not None


@pytest.mark.parametrize("value", ["1.31", "v1.31.2", "1.31.0-rc.1", "1", "v1.29.0+k3s1"])
def test_kube_versions_pass(value: str) -> None:
    assert names.kube_version(value) is None


@pytest.mark.parametrize("value", ["--post-renderer=sh", "latest", "", "1.2.3.4", "v1 .2"])
def test_kube_versions_that_are_not_versions_are_refused(value: str) -> None:
    assert names.kube_version(value) is not None


@pytest.mark.parametrize("value", ["v1", "apps/v1", "monitoring.coreos.com/v1/ServiceMonitor"])
def test_api_versions_pass(value: str) -> None:
    assert names.api_version(value) is None


@pytest.mark.parametrize("value", ["--x", "-", "", "a,b", "a//b", "a/b/c/d", "a b"])
def test_api_versions_that_are_not_api_versions_are_refused(value: str) -> None:
    assert names.api_version(value) is not None


def test_parameter_names_and_positionals() -> None:
    assert names.parameter_name("image.tag") is None
    assert names.parameter_name("list[0].name") is None
    for bad in ("", "--post-renderer", "a=b", "a\x00"):
        assert names.parameter_name(bad) is not None, bad
    assert names.positional("values.yaml") is None
    assert names.positional("-values.yaml") is not None
    assert names.positional("") is not None
    assert names.argument("a,b=c d") is None
    assert names.argument("a\x00") is not None


def _source(**fields: object) -> dict[str, object]:
    return {"repoURL": REPO, "path": "chart", **fields}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (_source(helm={"releaseName": "--post-renderer=sh"}), "source.helm.releaseName"),
        (_source(helm={"namespace": "--post-renderer=sh"}), "source.helm.namespace"),
        (_source(helm={"kubeVersion": "--post-renderer=sh"}), "source.helm.kubeVersion"),
        (_source(helm={"apiVersions": ["v1", "--post-renderer=sh"]}), "source.helm.apiVersions[1]"),
        (_source(helm={"valueFiles": ["--post-renderer=sh"]}), "source.helm.valueFiles[0]"),
        (_source(helm={"parameters": [{"name": "--post-renderer=sh"}]}), "source.helm.parameters[0].name"),
        (_source(kustomize={"namespace": "--help"}), "source.kustomize.namespace"),
        (_source(kustomize={"images": ["--help"]}), "source.kustomize.images[0]"),
        (_source(kustomize={"components": ["-c"]}), "source.kustomize.components[0]"),
        ({"repoURL": "https://charts.example", "chart": "--post-renderer=sh"}, "source.chart"),
        ({"repoURL": "https://charts.example", "chart": "../../git/trees/x"}, "source.chart"),
    ],
)
def test_a_flag_in_any_field_that_reaches_a_command_line_is_a_spec_error_naming_it(
    spec: dict[str, object], field: str
) -> None:
    with pytest.raises(SpecError) as failure:
        ApplicationSource.from_dict(spec)
    assert str(failure.value).startswith(f"{field}: ")


def test_a_parameter_value_that_cannot_be_passed_is_refused_without_showing_it() -> None:
    spec = _source(helm={"parameters": [{"name": "password", "value": "hunter2\x00"}]})
    with pytest.raises(SpecError, match=r"parameters\[0\]\.value") as failure:
        ApplicationSource.from_dict(spec)
    assert "hunter2" not in str(failure.value)


def test_ordinary_values_still_parse() -> None:
    source = ApplicationSource.from_dict(
        _source(
            helm={
                "releaseName": "web.prod",
                "namespace": "prod",
                "kubeVersion": "1.31.0",
                "apiVersions": ["monitoring.coreos.com/v1"],
                "valueFiles": ["values-prod.yaml", "$values/env/prod.yaml"],
                "parameters": [{"name": "image.tag", "value": "-1"}],
            }
        )
    )
    assert source.helm is not None and source.helm.release_name == "web.prod"
    assert ApplicationSource.from_dict({"repoURL": "oci://r.example/charts", "chart": "team/web"}).chart
