"""Kubeconfig files for a local cluster's admin and its components."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from gitward.local.pki import Identity, Pki


def write(path: Path, cluster: str, server: str, pki: Pki, who: Identity) -> Path:
    """A self-contained kubeconfig: certificates are embedded, not referenced,
    so the file keeps working when copied elsewhere."""
    context = f"gitward-{cluster}"
    user = f"{context}-{who.file_stem}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_cert)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(pki.client_cert(who)),
                    "client-key-data": _b64(pki.client_key(who)),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
