"""Development and test tooling: the embedded Redis and the `make run` launcher."""

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now, outside the
    kernel's ephemeral range. A server that restarts on its port (the tests
    restart Redis, RabbitMQ, PostgreSQL and a proxy) must find it free again;
    an ephemeral port may meanwhile be given to any outgoing connection, even
    a client's own reconnect to that very port (a TCP self-connect)."""
    low, high = _ephemeral_range()
    choices = range(10_000, low) if low > 11_000 else range(high + 1, 65_536)
    for port in random.sample(choices, min(200, len(choices))):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port outside the ephemeral range {low}-{high}")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = EPHEMERAL_RANGE.read_text().split()
    except (OSError, ValueError):  # not Linux: the range IANA sets
        return 49_152, 65_535
    return int(low), int(high)
