"""The end-to-end Git server with the `shop` app, and the controller that syncs it, shared as they are."""

from tests.e2e.conftest import controller, repo  # noqa: F401
