"""The app shape the benchmarks deploy: a Deployment, ServiceAccount, Service and ConfigMap per set.

Deployments have replicas 0 by default: thousands of pods would load the
shared control plane differently for whichever side ran first.
"""

from __future__ import annotations

from typing import Any


def documents(name: str, index: int, replicas: int = 0) -> list[dict[str, Any]]:
    """The four objects of set `name`; `index` goes into the ConfigMap, so a change is one edit."""
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"index": str(index)}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "serviceAccountName": name,
                        "containers": [
                            {
                                "name": "app",
                                "image": "registry.example/app:1",
                                "ports": [{"containerPort": 8080}],
                                "envFrom": [{"configMapRef": {"name": name}}],
                            }
                        ],
                    },
                },
            },
        },
    ]
