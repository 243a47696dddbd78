"""Free loopback ports for a local cluster's components."""

from __future__ import annotations

import random
import socket
from collections.abc import Collection

# Below Linux's ephemeral range (32768+), so outgoing connections rarely
# take a port between our check and the component's bind.
_LOW, _HIGH = 20000, 32768


class NoFreePorts(RuntimeError):
    pass


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def allocate(count: int, start: int | None = None, taken: Collection[int] = ()) -> list[int]:
    """`count` ports that nothing is bound to, scanning up from `start`.

    A busy port, or one another local cluster has claimed (`taken`), is
    skipped rather than treated as an error.
    """
    port = start if start is not None else random.randrange(_LOW, _HIGH - 1000)  # noqa: S311 - spreads start points; not a secret
    found: list[int] = []
    while len(found) < count:
        if port >= 65536:
            raise NoFreePorts(f"no {count} free ports at or above {start}")
        if port not in taken and is_free(port):
            found.append(port)
        port += 1
    return found
