"""bench_seckill's contrast: the same rush against the naive design
(bench/naive_app.py: one task per order, run by a prefork worker), what it
oversells, and how fast one task per order writes."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis

from bench.harness import NAIVE_QUEUE, ROOT, stop_process
from bench.sales import as_users, new_sale
from tests.seckill_helpers import order_count

NAIVE_CONCURRENCY = 4


@contextmanager
def naive_worker(environment: dict):
    """A prefork worker running the naive design's order tasks, stopped on exit."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.naive_app:celery", "worker",
         "-Q", NAIVE_QUEUE, "--pool=prefork", "-c", str(NAIVE_CONCURRENCY), "--loglevel=error"],
        env=environment, cwd=ROOT,
    )  # fmt: skip
    try:
        yield
    finally:
        stop_process(worker)


def naive_run(app, base: str, cookies: Path, environment: dict, stock: int, seconds: int) -> dict:
    """The same rush against the naive design, its tasks run by a prefork worker."""
    activity_id = new_sale(app, stock)
    with naive_worker(environment):
        run = as_users(base, "POST", f"/bench/naive/{activity_id}", cookies, seconds)
        broker = redis.Redis.from_url(environment["CELERY_BROKER_URL"])
        queued_at_end = broker.llen(NAIVE_QUEUE)
        started = time.monotonic()
        while broker.llen(NAIVE_QUEUE):
            time.sleep(0.05)
        time.sleep(1)  # the last tasks the worker took
        after_rush = time.monotonic() - started
    orders = order_count(app, activity_id)
    run["sale"] = {"accepted": run["counts"].get("202", 0), "orders": orders,
                   "oversold": max(0, orders - stock), "queued_at_end": queued_at_end,
                   "worker_busy_after_rush_s": round(after_rush, 1)}  # fmt: skip
    return run


def naive_write_rate(app, cookies: Path, environment: dict, base: str, pile: int) -> dict:
    """Orders per second written by one task per order, from a pile, as drain_rate."""
    activity_id = new_sale(app, pile)
    as_users(base, "POST", f"/bench/naive/{activity_id}", cookies, 20)  # no worker yet: a pile
    broker = redis.Redis.from_url(environment["CELERY_BROKER_URL"])
    waiting = broker.llen(NAIVE_QUEUE)
    with naive_worker(environment):
        while broker.llen(NAIVE_QUEUE) >= waiting:
            time.sleep(0.01)
        start = time.monotonic()
        while broker.llen(NAIVE_QUEUE):
            time.sleep(0.02)
        seconds = time.monotonic() - start
    written = order_count(app, activity_id)
    return {"tasks": waiting, "written": written, "seconds": round(seconds, 2),
            "orders_per_second": round(written / seconds)}  # fmt: skip
