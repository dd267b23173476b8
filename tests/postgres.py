"""A PostgreSQL server of the test's own on a loopback port, to restart
(Debian's postgresql binaries, run as the postgres user when root)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from devtools import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's binaries are missing: CI must install postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


class PostgresNode:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        # Not under pytest's tmp_path, which the postgres user may not enter.
        self.workdir = Path(tempfile.mkdtemp(prefix="postgres-test-"))
        if os.geteuid() == 0:
            shutil.chown(self.workdir, user="postgres")
        self.data = self.workdir / "data"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.workdir)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.workdir / "server.log")
        self._run("pg_ctl", "start", "-D", str(self.data), "-w", "-o", options, "-l", log)

    def stop(self) -> None:
        """A fast shutdown, as `systemctl restart postgresql` does: clients are cut off."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-w", "-m", "fast")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
