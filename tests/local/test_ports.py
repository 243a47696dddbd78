from __future__ import annotations

import socket

from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.local import ports


def test_a_bound_port_is_busy_and_skipped() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        busy = squatter.getsockname()[1]
        assert not ports.is_free(busy)
        found = ports.allocate(3, start=busy)
    assert busy not in found
    assert found == sorted(found) and found[0] > busy


def test_ports_claimed_by_other_clusters_are_skipped() -> None:
    start = ports.allocate(1)[0]
    found = ports.allocate(2, start=start, taken={start, start + 1})
    assert not {start, start + 1} & set(found)


@settings(max_examples=25, deadline=None)
@given(count=st.integers(min_value=1, max_value=8))
def test_allocate_returns_distinct_free_ports(count: int) -> None:
    found = ports.allocate(count)
    assert len(set(found)) == count
    assert all(ports.is_free(p) for p in found)


def test_is_listening_tells_a_listener_from_a_closed_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert ports.is_listening(port)
    assert not ports.is_listening(port)
