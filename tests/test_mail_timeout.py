"""A mail server that never answers costs a send MAIL_TIMEOUT, and nothing else."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from blueprints.auth.errors import TransientSendError
from blueprints.auth.mail import send_code_mail


@pytest.fixture
def silent_server():
    """Accepts connections and never sends the SMTP greeting."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


def test_a_silent_server_times_out_and_leaves_other_sockets_alone(app, silent_server, monkeypatch):
    state = app.extensions["mail"]
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", silent_server)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)

    def send(n: int) -> float:
        started = time.monotonic()
        with app.app_context(), pytest.raises(TransientSendError, match="timed out"):
            send_code_mail(f"silent{n}@example.com", "123456", "login")
        return time.monotonic() - started

    assert socket.getdefaulttimeout() is None
    # Sends in threads at once, as the reminder lanes do: each waits its own
    # timeout, and no socket opened elsewhere in the process inherits one.
    with ThreadPoolExecutor(4) as pool:
        waits = list(pool.map(send, range(8)))
    assert all(0.4 < wait < 3 for wait in waits), waits
    assert socket.getdefaulttimeout() is None
    assert socket.socket().gettimeout() is None
