from __future__ import annotations

import pytest

from gitward.local.gomod import go_minor, staging_replaces, staging_version

GOMOD = """\
module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.10.1
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/other/thing => github.com/fork/thing v1.0.0
)

replace k8s.io/kubectl => ./staging/src/k8s.io/kubectl
"""


def test_staging_replaces_finds_block_and_single_line_forms_only() -> None:
    assert staging_replaces(GOMOD) == ["k8s.io/api", "k8s.io/client-go", "k8s.io/kubectl"]


def test_staging_modules_are_published_as_v0_minor_patch() -> None:
    assert staging_version("v1.37.2") == "v0.37.2"
    with pytest.raises(ValueError, match="not a Kubernetes release"):
        staging_version("1.37")


def test_go_minor_reads_the_go_directive() -> None:
    assert go_minor(GOMOD) == "26"
    with pytest.raises(ValueError):
        go_minor("module x\n")
