"""`make run` as a developer meets it, in a terminal: one line per mail with
its code, nothing while pages poll, and Ctrl-C a clean stop (exit 0)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import shutil
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from config import ROOT
from devtools import free_port


class Terminal:
    """`make run` on a pseudo-terminal, as a developer's shell runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a session of its own, with this terminal
            os.chdir(ROOT)
            os.execvpe("make", ["make", "run"], env)
        self.output = ""
        self.status: int | None = None
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.output += data.decode(errors="replace")

    def mark(self) -> int:
        with self._lock:
            return len(self.output)

    def since(self, mark: int) -> str:
        with self._lock:
            return self.output[mark:]

    def wait_for(self, pattern: str, timeout: float, mark: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.since(mark)):
                return found
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} in {timeout} s:\n{self.since(mark)[-3000:]}")

    def exit_status(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                break
            else:
                time.sleep(0.2)
        return self.status


def post_json(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


# Not marked integration: nothing in it depends on the database or broker the
# CI reruns vary, so it runs once, in `make test`.
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_console_is_quiet_and_ctrl_c_stops_cleanly(redis_base, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "REDIS_URL": f"{redis_base}/7",  # the tests' Redis, a database of its own
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SECRET_KEY": "make-run-test",
        "TERM": "dumb",
    }
    for name in ("MAIL_SERVER", "MAIL_PORT", "LOG_LEVEL", "FLASK_DEBUG", "CELERY_BROKER_URL"):
        env.pop(name, None)
    terminal = Terminal(env)
    try:
        run_and_stop(terminal, port)
    except BaseException:
        print(terminal.output[-5000:])  # what the developer would have seen
        raise
    finally:
        kill_session(terminal.pid)
        terminal.exit_status(timeout=10)
        os.close(terminal.fd)


def run_and_stop(terminal: Terminal, port: int) -> None:
    terminal.wait_for(r"Running on http://127\.0\.0\.1", timeout=120)
    terminal.wait_for(r"worker\.1", timeout=60)
    time.sleep(3)  # the worker connects
    base = f"http://127.0.0.1:{port}"

    mark = terminal.mark()
    assert post_json(f"{base}/api/codes", {"channel": "email", "target": "dev@example.com"})
    line = terminal.wait_for(r"[^\n]*mail to dev@example\.com[^\n]*", timeout=60, mark=mark)
    assert re.search(r"code \d{6}", line.group()), line.group()
    time.sleep(2)
    mail_lines = [ln for ln in terminal.since(mark).splitlines() if "dev@example.com" in ln]
    assert len(mail_lines) == 1, terminal.since(mark)  # one line, not the MIME

    # Half a minute of a sale page polling, with beat and the worker idle: silence.
    mark = terminal.mark()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/seckill/activities", timeout=10) as answer:
            assert answer.status == 200
        time.sleep(2)
    assert terminal.since(mark).strip() == ""

    os.write(terminal.fd, b"\x03")  # Ctrl-C, as the terminal sends it
    status = terminal.exit_status(timeout=60)
    assert status == 0, terminal.output[-3000:]
    assert "every process shut down" in terminal.output
    assert "Error 130" not in terminal.output and "one process exited" not in terminal.output


def kill_session(session: int) -> None:
    """Every process of the terminal's session: make, the launcher, honcho and its children."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # after the name: state, ppid, pgrp, session
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)
