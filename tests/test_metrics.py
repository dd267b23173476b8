"""/metrics after real traffic: HTTP, Celery task and shop counters, live gauges."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from blueprints.ops.metrics import FLUSH_SECONDS
from config import ROOT
from devtools import free_port
from tests.helpers import request_code, wait_for
from tests.seckill_helpers import make_buyers, open_sale, session_cookie
from tests.workers import stop, worker_env

pytestmark = pytest.mark.integration

TOKEN = "test-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def token(app):
    app.config["METRICS_TOKEN"] = TOKEN
    yield TOKEN
    app.config["METRICS_TOKEN"] = None


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, metric: str, **labels: str) -> float:
    """The sum of the samples named ``metric`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == metric and wanted <= ls)


def scrape(client) -> dict:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def test_metrics_are_off_without_a_token_and_need_it(client, token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_metrics_are_off_when_no_token_is_set(client):
    assert client.get("/metrics", headers=AUTH).status_code == 404


def test_counters_move_with_real_traffic(app, client, mailbox, token, worker):
    time.sleep(FLUSH_SECONDS + 0.2)  # what earlier tests counted has reached Redis
    before = scrape(client)
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert request_code(client, "metrics@example.com").status_code == 202
    mailbox.last_code_for("metrics@example.com")
    client.get("/api/banners")
    client.get("/api/banners")
    sale = open_sale(app, stock=1)
    buyers = make_buyers(app, 2)
    for buyer in buyers:
        client.set_cookie("session", session_cookie(app, buyer).split("=", 1)[1])
        client.post(f"/api/seckill/{sale}", json={})
    send = {"name": "auth.send_code_email"}
    watched = {
        "http": ("http_requests_total", {"endpoint": "/healthz", "status": "200"}),
        "sent": ("celery_task_sent_total", send),
        "received": ("celery_task_received_total", send),
        "started": ("celery_task_started_total", send),
        "succeeded": ("celery_task_succeeded_total", send),
        "runtime": ("celery_task_runtime_seconds_count", send),
        "code sent": ("shop_code_sends_total", {"channel": "email", "outcome": "sent"}),
        "reserved": ("shop_seckill_reservations_total", {"outcome": "ok"}),
        "sold out": ("shop_seckill_reservations_total", {"outcome": "sold_out"}),
        "orders": ("shop_orders_written_total", {}),
        "cache miss": ("shop_cache_answers_total", {"cache": "banners", "kind": "miss"}),
        "cache hit": ("shop_cache_answers_total", {"cache": "banners", "kind": "hit"}),
    }
    expected = {"http": 5, **dict.fromkeys(list(watched)[1:], 1)}
    seen: dict = {}

    def moved():
        now = scrape(client)
        seen.update({key: value(now, metric, **labels) - value(before, metric, **labels)
                     for key, (metric, labels) in watched.items()})  # fmt: skip
        seen["worker up"] = value(now, "celery_worker_up")
        return seen == {**expected, "worker up": 1}

    assert wait_for_or_none(moved, 15), seen
    now = scrape(client)
    assert ("celery_queue_length", frozenset({("queue_name", "celery")})) in now
    labels = {name: dict(ls) for (name, ls) in now if name == "celery_task_succeeded_total"}
    assert set(labels["celery_task_succeeded_total"]) == {"name", "hostname", "queue_name"}


def wait_for_or_none(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def _get(url: str, headers: dict | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_http_counts_add_up_over_gunicorn_workers(app, tmp_path):
    """Each scrape lands on one of two workers, and each reports both workers' requests."""
    port = free_port()
    env = worker_env(app, METRICS_TOKEN=TOKEN, HTTPS="0",
                     PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))  # fmt: skip
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"], env=env, cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), 60, "gunicorn up")
        time.sleep(0.5)
        before = value(samples(_get(f"{base}/metrics", AUTH)), "http_requests_total",
                       endpoint="/healthz")  # fmt: skip
        sent = 0
        with ThreadPoolExecutor(8) as pool:  # at once, so both workers answer some
            while sent < 400 and len(_writers(tmp_path)) < 2:
                list(pool.map(lambda _: _get(f"{base}/healthz"), range(40)))
                sent += 40
        counts = [
            value(
                samples(_get(f"{base}/metrics", AUTH)), "http_requests_total", endpoint="/healthz"
            )  # fmt: skip
            for _ in range(6)
        ]
    finally:
        stop(web)
    assert len(_writers(tmp_path)) >= 2  # both workers answered requests
    assert counts == [before + sent] * 6


def _writers(tmp_path) -> set[str]:
    """The processes that wrote HTTP counts (one file each, named by pid)."""
    return {path.stem.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("*.db")}


def _healthy(base: str) -> bool:
    try:
        return '"ok"' in _get(f"{base}/healthz")
    except OSError:
        return False
