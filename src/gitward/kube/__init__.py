"""Cluster I/O: connection, discovery, every write (`Writer`), and the watch cache."""

from gitward.kube.apply import FIELD_MANAGER, Propagation, Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import ApiResource, Discovery, UnknownKind
from gitward.kube.errors import KubeError
from gitward.kube.reflector import Reflector, WatchCache
from gitward.kube.store import Change, ChangeType, Store
from gitward.model.resource import TRACKING_ANNOTATION

__all__ = [
    "FIELD_MANAGER",
    "TRACKING_ANNOTATION",
    "ApiResource",
    "Change",
    "ChangeType",
    "Connection",
    "Discovery",
    "KubeError",
    "Propagation",
    "Reflector",
    "Store",
    "UnknownKind",
    "WatchCache",
    "Writer",
]
