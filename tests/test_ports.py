"""The ports the tests' servers take: never one the kernel may hand out meanwhile."""

from devtools import _ephemeral_range, free_port


def test_a_restarted_server_finds_its_port_free():
    # While a server is down (a broker "restart"), an ephemeral port can be
    # given to any outgoing socket: a worker's reconnect to that very port
    # once took it (a TCP self-connect), and the restart failed with EADDRINUSE.
    low, high = _ephemeral_range()
    ports = {free_port() for _ in range(300)}
    assert not [port for port in ports if low <= port <= high]
    assert len(ports) > 250, "spread out, so concurrent runs rarely meet"
