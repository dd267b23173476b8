"""The pieces every benchmark starts: Redis, an SMTP sink, a worker, gunicorn, wrk."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from devtools import free_port, redis_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


NAIVE_QUEUE = "bench-naive"  # bench/naive_app.py's order tasks, for bench_seckill


class SlowSink:
    """An SMTP server that takes ``delay`` seconds per mail, like a busy relay."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0
        self.recipients: Counter[str] = Counter()  # mails per address

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay)
        self.received += 1
        self.recipients.update(envelope.rcpt_tos)
        return "250 OK"


@contextmanager
def stack(
    extra_env: dict[str, str] | None = None,
    mail_delay: float = 0.0,
    web_workers: int = 0,
    wsgi_app: str = "app:create_app()",
    worker_args: tuple[str, ...] = ("--pool=solo",),
):
    """Start the product on private ports; yields (base_url, env, sink)."""
    with ExitStack() as stop, tempfile.TemporaryDirectory() as tmp:
        redis_port = free_port()
        redis_process = redis_server.start(redis_port, Path(tmp) / "redis")
        stop.callback(redis_process.terminate)
        sink = SlowSink(mail_delay)
        # aiosmtpd logs every SMTP command at INFO, which a bench that builds
        # the app (logging at INFO) would pay for in the sink's own thread.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        controller = Controller(sink, hostname="127.0.0.1", port=free_port())
        controller.start()
        stop.callback(controller.stop)

        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
            "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{redis_port}/2",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(controller.port),
            "SECRET_KEY": "bench-secret",
            "FLASK_DEBUG": "0",
            "HTTPS": "0",  # wrk speaks plain HTTP
            **(extra_env or {}),
        }
        python = sys.executable
        subprocess.run([python, "-m", "flask", "--app", "app", "db", "upgrade"],
                       env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        worker = subprocess.Popen(
            [python, "-m", "celery", "-A", "tasks.celery", "worker", *worker_args,
             "--loglevel=error"], env=env, cwd=ROOT,
        )  # fmt: skip
        stop.callback(stop_process, worker)
        port = free_port()
        web_workers = web_workers or 2 * (os.cpu_count() or 1) + 1  # gunicorn's advice
        web = subprocess.Popen(
            [python, "-m", "gunicorn", "-w", str(web_workers), "-b", f"127.0.0.1:{port}",
             "--log-level", "warning", wsgi_app], env=env, cwd=ROOT,
        )  # fmt: skip
        stop.callback(stop_process, web)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base_url}/healthz")
        yield base_url, env, sink


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wrk(url: str, script: str, seconds: int = 10, connections: int = 50, threads: int = 2,
        args: list[str] | None = None) -> dict:  # fmt: skip
    """Run wrk and return its numbers (requests, rps, p50_ms, p99_ms, errors, and the
    script's tallies as ``counts``)."""
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "-s", f"bench/wrk/{script}", url]  # fmt: skip
    if args:
        command += ["--", *args]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def fresh_postgres(name: str) -> str | None:
    """The URL of a new, empty PostgreSQL database ``name`` (dropped first if it
    exists), where PostgreSQL answers on 5432; else None."""
    import psycopg

    try:
        admin_db = psycopg.connect(POSTGRES + "/postgres", autocommit=True, connect_timeout=2)
    except psycopg.OperationalError:
        return None
    with admin_db:
        admin_db.execute(f"DROP DATABASE IF EXISTS {name}")
        admin_db.execute(f"CREATE DATABASE {name}")
    return "postgresql+psycopg://" + POSTGRES.removeprefix("postgresql://") + f"/{name}"


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"


def write_result(name: str, markdown: str, data: dict) -> Path:
    """bench/results/<name>.md (read by people) and <name>.json (read by tools)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (RESULTS / f"{name}.md").write_text(f"{markdown}\n\nRun {stamp} on {machine()}.\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({"at": stamp, **data}, indent=2) + "\n")
    return RESULTS / f"{name}.md"
