"""A Redis Sentinel deployment on loopback: one master, one replica, three
sentinels, each its own redis-server process, for failover tests.

Debian's redis-server (which .ci/run installs) when there is one, else the
embedded binary: both run as a sentinel with ``--sentinel``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from devtools import free_port, redis_server

MASTER_NAME = "shop"
DOWN_AFTER_MS = 1000  # how long a silent master has before the sentinels agree it is down


def binary() -> str:
    return shutil.which("redis-server") or redis_server.redis_binary()


class SentinelSet:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.servers: dict[int, subprocess.Popen] = {}  # port -> redis-server (master or replica)
        self.sentinels: dict[int, subprocess.Popen] = {}
        self.master_port = self._server()
        self.replica_port = self._server("--replicaof", "127.0.0.1", str(self.master_port))
        for _ in range(3):
            self._sentinel()
        self.wait_until(lambda: self.replica_in_sync(self.master_port), "replica in sync")
        self.wait_until(self._sentinels_see_everything, "sentinels see master and replica")

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/{db}"

    def _server(self, *args: str) -> int:
        port = free_port()
        data = self.workdir / f"redis-{port}"
        data.mkdir(parents=True)
        command = [binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
                   "--save", "", "--appendonly", "no", *args]  # fmt: skip
        self.servers[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        self.wait_until(lambda: self.client(port).ping(), f"redis-server on {port}")
        return port

    def _sentinel(self) -> None:
        port = free_port()
        conf = self.workdir / f"sentinel-{port}.conf"  # the sentinel rewrites it: its own file
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )
        command = [binary(), str(conf), "--sentinel"]
        self.sentinels[port] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        self.wait_until(lambda: self.client(port).ping(), f"sentinel on {port}")

    @staticmethod
    def client(port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=0.2)

    def master(self) -> int:
        """The master's port, as the sentinels report it now."""
        for port in self.sentinels:
            try:
                sentinel = self.client(port)
                _, master_port = sentinel.execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME
                )
                return int(master_port)
            except redis.RedisError:
                continue
        raise AssertionError("no sentinel answers")

    def replica_in_sync(self, master_port: int) -> bool:
        info = self.client(master_port).info("replication")
        return info.get("connected_slaves", 0) >= 1 and info["slave0"]["state"] == "online"

    def _sentinels_see_everything(self) -> bool:
        for port in self.sentinels:
            # Raw replies: redis-py 6.4 fails to parse SENTINEL MASTER.
            sentinel = self.client(port)
            replicas = sentinel.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)
            others = sentinel.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)
            if not replicas or len(others) < 2:
                return False
        return True

    def kill_master(self) -> int:
        """SIGKILL the master (no goodbye to anyone); its port."""
        port = self.master()
        self.servers[port].send_signal(signal.SIGKILL)
        self.servers[port].wait(5)
        return port

    def wait_for_new_master(self, old: int, timeout: float = 30) -> int:
        """Until the sentinels name another master and it takes writes; its port."""

        def promoted() -> bool:
            port = self.master()
            return port != old and self.client(port).info("replication")["role"] == "master"

        self.wait_until(promoted, "failover", timeout)
        return self.master()

    @staticmethod
    def wait_until(check, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        for process in [*self.sentinels.values(), *self.servers.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.sentinels.values(), *self.servers.values()]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
