"""Fixtures of the `gitward app` tests: the end-to-end Git server and controller, shared, not copied."""

from tests.e2e.conftest import controller, repo

__all__ = ["controller", "repo"]
