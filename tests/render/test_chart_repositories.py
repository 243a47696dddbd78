"""Charts from repositories that need credentials: an HTTP Helm repository behind basic auth, and OCI
registries (distribution's registry, with and without htpasswd auth), credentials from repository Secrets."""

from __future__ import annotations

import base64
import json
import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gitward.cli import app
from gitward.engine.repo_credentials import CredentialSecretError, chart_access_for, from_secret, load, match
from gitward.kube.connection import Connection
from gitward.model import ApplicationSource
from gitward.render import AppContext, ChartAccess, Renderer, RenderError, RenderSettings, Tools
from tests.cli.support import app_cli
from tests.e2e.support import install_crds
from tests.engine.test_repo_credentials_live import put_secret
from tests.helpers import Cluster
from tests.render.chart_servers import basic_auth_folder, helm, oci_registry
from tests.render.conftest import cm, launches, logging_wrapper, make_chart

USERNAME = "charts"


def repository_secret(**fields: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "charts",
            "namespace": "gitward",
            "labels": {"gitward.dev/secret-type": "repository"},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()},
    }


def access_from_secret(repo_url: str, **fields: str) -> dict[str, ChartAccess]:
    """What the controller does: the repository Secret matching the chart source's repoURL."""
    credential = from_secret(repository_secret(**fields))
    assert credential is not None
    chosen = match([credential], repo_url)
    assert chosen is credential
    return {repo_url: chosen.chart_access()}


def chart_source(repo_url: str, version: str = "0.1.0") -> ApplicationSource:
    return ApplicationSource.from_dict({"repoURL": repo_url, "chart": "hello", "targetRevision": version})


def expected(version: str = "0.1.0") -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shop-hello"},
            "data": {"version": version},
        }
    ]


@pytest.fixture
def packaged(tmp_path: Path, helm_bin: str) -> Path:
    """hello-0.1.0.tgz, packaged by real helm."""
    chart = make_chart(
        tmp_path / "chart-src",
        "hello",
        "0.1.0",
        {"cm.yaml": cm("{{ .Release.Name }}-hello", data="data:\n  version: {{ .Chart.Version | quote }}\n")},
    )
    out = tmp_path / "packaged"
    helm(helm_bin, tmp_path / "helm-home", "package", str(chart), "-d", str(out))
    return out / "hello-0.1.0.tgz"


@pytest.fixture
def password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


# An HTTP Helm repository (index.yaml) behind basic auth ----------------------------------------


@pytest.fixture
def private_helm_repo(tmp_path: Path, helm_bin: str, packaged: Path, password: str) -> Iterator[str]:
    served = tmp_path / "served"
    served.mkdir()
    (served / packaged.name).write_bytes(packaged.read_bytes())
    with basic_auth_folder(served, USERNAME, password) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        helm(helm_bin, tmp_path / "helm-home", "repo", "index", str(served), "--url", url)
        yield url


def test_a_chart_from_a_helm_repository_behind_basic_auth_with_a_repository_secret(
    tmp_path: Path,
    helm_bin: str,
    kustomize_bin: str,
    settings: RenderSettings,
    private_helm_repo: str,
    password: str,
) -> None:
    url = private_helm_repo
    wrapper, log = logging_wrapper(tmp_path, helm_bin, "helm")
    renderer = Renderer(Tools(helm=wrapper, kustomize=kustomize_bin), settings)
    access = access_from_secret(url, type="helm", url=url, username=USERNAME, password=password)

    objects = renderer.render(chart_source(url), None, AppContext("shop", chart_access=access))

    assert objects == expected()
    # The password reached helm through a private file, never its command line or environment.
    assert launches(log)
    assert password not in log.read_text()
    assert base64.b64encode(f"{USERNAME}:{password}".encode()).decode() not in log.read_text()
    # And the private files went away with the render.
    assert list((tmp_path / "scratch").iterdir()) == []


def test_missing_or_wrong_helm_repository_credentials_are_a_clear_error_without_the_password(
    renderer: Renderer, private_helm_repo: str, password: str
) -> None:
    url = private_helm_repo
    with pytest.raises(RenderError) as missing:
        renderer.render(chart_source(url), None, AppContext("shop"))
    assert f"cannot pull chart hello 0.1.0 from {url}" in str(missing.value)
    assert "401" in str(missing.value) and "no credentials were given" in str(missing.value)

    wrong = password + "-not"
    access = {url: ChartAccess(username=USERNAME, password=wrong)}
    with pytest.raises(RenderError) as refused:
        renderer.render(chart_source(url), None, AppContext("shop", chart_access=access))
    message = str(refused.value)
    assert f"cannot pull chart hello 0.1.0 from {url}" in message and "401" in message
    assert wrong not in message and password not in message


def test_the_cli_logs_in_to_a_chart_repository_with_the_password_from_the_environment(
    tmp_path: Path, helm_bin: str, private_helm_repo: str, password: str
) -> None:
    url = private_helm_repo
    env = {"GITWARD_CACHE": str(tmp_path / "cli-cache"), "GITWARD_TOOL_HELM": helm_bin}
    argv = ["render", url, "--chart", "hello", "--revision", "0.1.0", "--app-name", "shop", "-o", "json"]

    refused = CliRunner().invoke(app, argv, env=env)
    assert refused.exit_code == 1
    assert "no credentials were given" in refused.output

    done = CliRunner().invoke(
        app, [*argv, "--username", USERNAME], env={**env, "GITWARD_GIT_PASSWORD": password}
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == expected()


# OCI registries -----------------------------------------------------------------------------------


# The first of these builds the registry on a cold machine (a few minutes on 2 cores), inside the test.
REGISTRY_BUILD_TIME = pytest.mark.timeout(1500)


@REGISTRY_BUILD_TIME
def test_an_oci_chart_pushed_by_helm_renders_in_both_of_argo_cds_spellings(
    tmp_path: Path, helm_bin: str, renderer: Renderer, packaged: Path
) -> None:
    with oci_registry(tmp_path / "registry") as host:
        helm(helm_bin, tmp_path / "helm-home", "push", str(packaged), f"oci://{host}/charts", "--plain-http")

        # oci://host/path, as helm spells it.
        url = f"oci://{host}/charts"
        access = access_from_secret(url, type="helm", url=url, insecureOCIForceHttp="true")
        assert renderer.render(chart_source(url), None, AppContext("shop", chart_access=access)) == expected()

        # Argo CD's own form: the host without a scheme, and enableOCI in the repository Secret.
        bare = f"{host}/charts"
        access = access_from_secret(
            bare, type="helm", url=bare, enableOCI="true", insecureOCIForceHttp="true"
        )
        assert (
            renderer.render(chart_source(bare), None, AppContext("shop", chart_access=access)) == expected()
        )

        with pytest.raises(RenderError, match=r"cannot pull chart hello 9\.9\.9 from oci://"):
            renderer.render(chart_source(url, "9.9.9"), None, AppContext("shop", chart_access=access))


def _htpasswd(username: str, password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt, which distribution's htpasswd requires, through the C library

        # METHOD_BLOWFISH is bcrypt, the hash distribution accepts (not the weak cipher ruff suspects).
        return f"{username}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}"  # noqa: S324


@REGISTRY_BUILD_TIME
def test_an_oci_registry_with_a_login_needs_the_secrets_credentials(
    tmp_path: Path, helm_bin: str, renderer: Renderer, packaged: Path, password: str
) -> None:
    home = tmp_path / "helm-home"
    with oci_registry(tmp_path / "registry", htpasswd=_htpasswd(USERNAME, password)) as host:
        url = f"oci://{host}/charts"
        with pytest.raises(RuntimeError):
            helm(helm_bin, home, "push", str(packaged), url, "--plain-http")  # refused without a login
        helm(
            helm_bin,
            home,
            "push",
            str(packaged),
            url,
            "--plain-http",
            "--username",
            USERNAME,
            "--password",
            password,
        )

        anonymous = access_from_secret(url, type="helm", url=url, insecureOCIForceHttp="true")
        secret = {"type": "helm", "url": url, "insecureOCIForceHttp": "true", "username": USERNAME}
        wrong = access_from_secret(url, **secret, password=password + "-not")
        for given in (anonymous, wrong):
            with pytest.raises(RenderError) as refused:
                renderer.render(chart_source(url), None, AppContext("shop", chart_access=given))
            message = str(refused.value)
            assert f"cannot pull chart hello 0.1.0 from {url}" in message
            assert password not in message
            if given is anonymous:
                assert message.endswith("(no credentials were given for this repository)")
            else:
                assert "401" in message or "unauthorized" in message.lower()

        access = access_from_secret(url, **secret, password=password)
        assert renderer.render(chart_source(url), None, AppContext("shop", chart_access=access)) == expected()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"type": "svn"}, "`type`"),
        ({"enableOCI": "yes"}, "`enableOCI`"),
        ({"insecureOCIForceHttp": "1"}, "`insecureOCIForceHttp`"),
    ],
)
def test_a_repository_secret_with_a_bad_type_or_switch_is_refused_naming_the_field(
    fields: dict[str, str], named: str
) -> None:
    with pytest.raises(CredentialSecretError, match=f"Secret gitward/charts: field {named}"):
        from_secret(repository_secret(url="oci://r/charts", password="hidden-pw", **fields))


@pytest.mark.cluster
async def test_a_helm_repository_secret_read_from_a_real_cluster_opens_the_private_repository(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    renderer: Renderer,
    private_helm_repo: str,
    password: str,
) -> None:
    url = private_helm_repo
    put_secret(
        cluster, namespace, "charts", "repository", type="helm", url=url, username=USERNAME, password=password
    )
    known, problems = await load(connection, namespace)
    assert problems == []

    access = chart_access_for(known, [url])
    objects = await renderer.render_async(chart_source(url), None, AppContext("shop", chart_access=access))

    assert objects == expected()


@pytest.mark.cluster
def test_app_diff_logs_in_to_a_chart_repository_with_the_repository_secret_as_the_controller_does(
    cluster: Cluster, namespace: str, private_helm_repo: str, password: str
) -> None:
    url = private_helm_repo
    install_crds(cluster)
    created = app_cli(
        cluster, namespace, "create", "shop", "--repo", url, "--helm-chart", "hello", "--revision", "0.1.0",
        "--dest-namespace", namespace,
    )  # fmt: skip
    assert created.code == 0, created.err

    refused = app_cli(cluster, namespace, "diff", "shop")
    assert refused.code == 2, refused.out + refused.err
    assert f"cannot pull chart hello 0.1.0 from {url}" in refused.err
    assert "no credentials were given" in refused.err

    put_secret(
        cluster, namespace, "charts", "repository", type="helm", url=url, username=USERNAME, password=password
    )
    differs = app_cli(cluster, namespace, "diff", "shop")
    assert differs.code == 1, differs.out + differs.err
    assert "ConfigMap" in differs.out and "shop-hello" in differs.out and "would be created" in differs.out
    assert password not in differs.out + differs.err
