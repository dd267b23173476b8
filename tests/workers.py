"""Workers started as an operator starts them: `celery -A tasks.celery worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from celery import Celery

from blueprints.core import servers
from config import ROOT
from devtools import free_port


def worker_env(app, **overrides: str) -> dict[str, str]:
    """The environment of a worker that shares the test app's Redis, database and mail."""
    return {
        **os.environ,
        "REDIS_URL": app.config["REDIS_URL"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CELERY_BROKER_URL": app.config["CELERY"]["broker_url"],
        "CELERY_RESULT_BACKEND": app.config["CELERY"]["result_backend"],
        "MAIL_SERVER": app.config["MAIL_SERVER"],
        "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "SECRET_KEY": app.config["SECRET_KEY"],
        **overrides,
    }


def start_worker_process(env: dict[str, str], *args: str, pool: str = "solo") -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "tasks.celery", "worker",
               f"--pool={pool}", "--loglevel=warning", *args]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)


def wait_until_listening(celery_app, name: str, timeout: float = 60) -> None:
    """Until worker ``name`` answers remote control: a worker consumes tasks
    a moment before it listens for control, and a revoke sent in between is lost."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if celery_app.control.ping(destination=[name], timeout=0.5):
            return
    raise AssertionError(f"worker {name} did not answer remote control in {timeout} s")


def stop(*workers: subprocess.Popen | None) -> None:
    """SIGTERM every one, then wait; one still running after 30 s is killed,
    so no process outlives its test (a leftover worker answers the next
    test's pings). Flower once took longer than that to stop on CI."""
    running = [worker for worker in workers if worker and worker.poll() is None]
    for worker in running:
        worker.terminate()
    for worker in running:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def start_web_process(env: dict[str, str], workers: int = 1, threads: int = 4):
    """gunicorn serving the product on a free port, as in production; (process,
    base URL) once it answers /healthz."""
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _answers(base):
        if web.poll() is not None or time.monotonic() > deadline:
            stop(web)
            raise AssertionError(f"gunicorn did not answer on {base}")
        time.sleep(0.2)
    return web, base


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def sender(broker_url: str) -> Celery:
    """A Celery app that sends to ``broker_url`` as the product does (on
    RabbitMQ: quorum queues and a topic exchange, which a plain app would
    declare otherwise, and the product's workers could not use)."""
    client = Celery(set_as_current=False)
    client.conf.update(
        servers.on_rabbitmq({"broker_url": broker_url, "broker_transport_options": {}})
    )
    return client
