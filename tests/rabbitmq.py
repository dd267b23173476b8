"""A RabbitMQ node of the test's own on a loopback port, to stop and start
(Debian's rabbitmq-server; .ci/run installs it). Its data stays in its
directory across restarts, as a real node's does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from devtools import free_port


def require_rabbitmq_server() -> str:
    path = shutil.which("rabbitmq-server")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rabbitmq-server is missing: CI must install Debian's rabbitmq-server")
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    return path


class RabbitNode:
    def __init__(self) -> None:
        self.binary = require_rabbitmq_server()
        self.port = free_port()
        # Not under pytest's tmp_path: the server runs as the rabbitmq user,
        # who may not enter root's private directories.
        workdir = self.workdir = Path(tempfile.mkdtemp(prefix="rabbitmq-test-"))
        (workdir / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (workdir / "env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")  # not the system's file
        (workdir / "plugins").write_text("[].\n")
        if os.geteuid() == 0:  # Debian's script switches to the rabbitmq user
            shutil.chown(workdir, user="rabbitmq")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": f"test{self.port}@localhost",
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(workdir / "env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "plugins"),
            "RABBITMQ_MNESIA_BASE": str(workdir / "data"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(workdir / "feature_flags"),
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 60) -> None:
        log = open(self.workdir / "server.out", "ab")  # noqa: SIM115  (the server holds it)
        self.process = subprocess.Popen([self.binary], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"rabbitmq-server did not start: see {self.workdir}")
            time.sleep(0.2)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the node as its service does (SIGTERM to the Erlang VM), and wait."""
        if self.process is None or self.process.poll() is not None:
            return
        beams = [p for p in psutil.Process(self.process.pid).children(recursive=True)
                 if p.name().startswith("beam")]  # fmt: skip
        for beam in beams:
            beam.send_signal(signal.SIGTERM)
        psutil.wait_procs(beams, timeout=30)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
