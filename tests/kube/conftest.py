"""Fixtures for gitward.kube against the real session cluster."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import Discovery
from tests.helpers import Cluster
from tests.kube.manifests import crd


@pytest.fixture
def discovery(connection: Connection) -> Discovery:
    return Discovery(connection, min_refresh=0.5)


@pytest.fixture
def writer(connection: Connection, discovery: Discovery) -> Writer:
    return Writer(connection, discovery)


@pytest.fixture
def gadget_group(cluster: Cluster) -> Iterator[str]:
    """A fresh CRD (kind Gadget, namespaced) in a group of its own; deleted afterwards."""
    group = f"g{secrets.token_hex(3)}.example.com"
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(crd(group, "Gadget", "gadgets")))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s")
    yield group
    cluster.kubectl("delete", "crd", f"gadgets.{group}", "--wait=false")
