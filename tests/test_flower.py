"""Flower, Celery's own monitor, against this product: it sees a product task."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from config import ROOT
from devtools import free_port
from tests.helpers import wait_for
from tests.workers import start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration

AUTH = "operator:" + "flower-test-password"


def _get(url: str, auth: str | None = AUTH) -> tuple[int, bytes]:
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:
        return 0, b""


QUEUE = "flower-test"


@pytest.fixture
def flower(app):
    """Flower and a worker as an operator starts them (the tests' in-process
    worker has no event dispatcher for Flower to switch on)."""
    port = free_port()
    env = worker_env(app, FLOWER_BASIC_AUTH=AUTH, FLOWER_UNAUTHENTICATED_API="false")
    worker = start_worker_process(env, "-Q", QUEUE, "-n", "flower@%h")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.celery", "flower", "--address=127.0.0.1",
         f"--port={port}", "--logging=warning"], env=env, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/healthcheck")[0] == 200, 60, "Flower up")
        yield base
    finally:
        stop(process, worker)


def test_flower_shows_a_product_task(app, celery_app, flower):
    assert _get(f"{flower}/api/workers", auth=None)[0] == 401
    assert _get(f"{flower}/api/workers", auth="operator:wrong")[0] == 401

    # Flower turns task events on in the workers it finds; then it sees tasks run.
    def events_on() -> bool:
        status, body = _get(f"{flower}/api/workers?refresh=1")
        return status == 200 and bool(json.loads(body))

    wait_for(events_on, 30, "Flower sees the worker")

    def seen_by_flower():
        result = celery_app.send_task("cache.refresh", queue=QUEUE)
        status, body = _get(f"{flower}/api/task/info/{result.id}")
        if status != 200:
            # Events may not be on yet: give this run time to report, then try a new one.
            wait_for(lambda: _get(f"{flower}/api/task/info/{result.id}")[0] == 200, 5, "")
            status, body = _get(f"{flower}/api/task/info/{result.id}")
        return json.loads(body) if status == 200 else None

    def succeeded():
        info = seen_by_flower()
        return info if info and info.get("state") == "SUCCESS" else None

    info = wait_for(_retrying(succeeded), 60, "a product task in Flower")
    assert info["name"] == "cache.refresh"
    assert info["worker"].startswith("flower@")


def _retrying(check):
    def attempt():
        try:
            return check()
        except AssertionError:  # this run was not seen in time: the next one may be
            return None

    return attempt
