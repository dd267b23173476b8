"""Prometheus metrics at ``/metrics``.

Three sources, because the numbers come from different processes:

- HTTP requests, counted by prometheus-client in the web process that answers.
  Under several gunicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (an empty
  directory shared by the workers): each then writes its counts to a file there
  and any worker answering a scrape adds them all up.
- Task and shop counters, counted wherever they happen (web, worker, beat,
  another machine), kept per process and added into one Redis hash every
  second, so a scrape of any web process sees all of them. The task metrics
  carry celery-exporter's names and labels, so its dashboards work unchanged.
- Gauges read at scrape time: queue lengths from the broker, workers from their
  heartbeats.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import socket
import time
from bisect import bisect_left
from collections import defaultdict
from functools import lru_cache
from typing import Any

import redis as redis_lib
from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram as PromHistogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from blueprints.ops import live
from blueprints.ops.buffer import Buffered
from blueprints.ops.keys import SHARED_KEY

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
RUNTIME_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   300.0, float("inf"))  # fmt: skip
HOSTNAME = socket.gethostname()

HTTP_REQUESTS = PromCounter(
    "http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
HTTP_DURATION = PromHistogram(
    "http_request_duration_seconds", "Time to answer an HTTP request", ["method", "endpoint"]
)

# Celery task states as celery-exporter counts them.
TASK_COUNTERS = {
    "SENT": "celery_task_sent_total",
    "RECEIVED": "celery_task_received_total",
    "STARTED": "celery_task_started_total",
    "SUCCESS": "celery_task_succeeded_total",
    "FAILURE": "celery_task_failed_total",
    "RETRY": "celery_task_retried_total",
    "REVOKED": "celery_task_revoked_total",
    "REJECTED": "celery_task_rejected_total",
}
HELP = {
    **{name: f"Tasks {name.split('_')[2]}" for name in TASK_COUNTERS.values()},
    "celery_task_runtime_seconds": "Task runtime",
    "shop_code_sends_total": "Verification code sends, by channel and outcome",
    "shop_seckill_reservations_total": "Flash-sale purchase attempts, by the gate's outcome",
    "shop_orders_written_total": "Flash-sale orders written to the database",
    "shop_cache_answers_total": "Cached answers, by cache and how they were served",
}


Labels = tuple[tuple[str, str], ...]  # (name, value) pairs, sorted by name


class SharedCounts(Buffered):
    """Counts and histogram observations of this process, added into Redis by a
    background thread; kept for the next try while Redis is away."""

    thread_name = "metrics"

    def __init__(self) -> None:
        super().__init__(FLUSH_SECONDS)
        self.counts: defaultdict[str, float] = defaultdict(float)
        self.sums: defaultdict[str, float] = defaultdict(float)
        self.redis: redis_lib.Redis | None = None

    def add(self, metric: str, amount: float, labels: Labels) -> None:
        field = _field(metric, labels)
        with self.lock:
            self.counts[field] += amount
        self._ensure_thread()

    def observe(self, metric: str, value: float, named: Labels) -> None:
        le = RUNTIME_BUCKETS[bisect_left(RUNTIME_BUCKETS, value)]
        with self.lock:
            self.counts[_field(metric, (*named, ("le", str(le))))] += 1
            self.sums[_field(f"{metric}_sum", named)] += value
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self.redis is not None:  # set once the app is known
            self.started()

    def flush(self) -> None:
        with self.lock:
            counts, sums = self.counts, self.sums
            self.counts, self.sums = defaultdict(float), defaultdict(float)
        if not counts and not sums or self.redis is None:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for field, amount in counts.items():
                pipe.hincrbyfloat(SHARED_KEY, field, amount)
            for field, amount in sums.items():
                pipe.hincrbyfloat(SHARED_KEY, field, amount)
            pipe.execute()
        except redis_lib.RedisError as error:
            log.debug("metrics not added yet: %s", error)
            with self.lock:
                for field, amount in counts.items():
                    self.counts[field] += amount
                for field, amount in sums.items():
                    self.sums[field] += amount

    def clear(self) -> None:
        self.counts, self.sums = defaultdict(float), defaultdict(float)


@lru_cache(maxsize=4096)
def _field(metric: str, labels: Labels) -> str:
    """The Redis hash field of one series (cached: a task counts several per run)."""
    return json.dumps([metric, dict(labels)], sort_keys=True)


shared = SharedCounts()


def count(metric: str, amount: float = 1, **labels: Any) -> None:
    """Add to a shop counter (``shop_*``), from any process."""
    shared.add(metric, amount, tuple(sorted((k, str(v)) for k, v in labels.items())))


def count_task(state: str, name: str | None, hostname: str | None, queue: str | None,
               runtime: float | None = None) -> None:  # fmt: skip
    """Count a task's state change as celery-exporter would."""
    metric = TASK_COUNTERS.get(state)
    if metric is None:
        return
    labels = (("hostname", hostname or HOSTNAME), ("name", name or "unknown"),
              ("queue_name", queue or "unknown"))  # fmt: skip
    shared.add(metric, 1, labels)
    if runtime is not None:
        shared.observe("celery_task_runtime_seconds", runtime, labels)


class SharedCollector:
    """The Redis-held counters and the live gauges, at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        redis = self.app.extensions["redis"]
        try:
            raw: dict[str, str] = redis.hgetall(SHARED_KEY)
        except redis_lib.RedisError as error:
            log.warning("metrics: %s", error)
            raw = {}
        yield from _families(raw)
        yield from self._live(redis)

    def _live(self, redis):
        celery = self.app.extensions["celery"]
        lengths = GaugeMetricFamily("celery_queue_length", "Messages waiting in a queue",
                                    labels=["queue_name"])  # fmt: skip
        try:
            for queue in live.queue_lengths(celery, live.queue_names(celery)):
                lengths.add_metric([queue["name"]], queue["messages"])
        except Exception as error:  # the broker is away: no lengths this scrape
            log.warning("metrics: queue lengths: %s", error)
        yield lengths
        up = GaugeMetricFamily("celery_worker_up", "A worker's heartbeat is recent",
                               labels=["hostname"])  # fmt: skip
        now = time.time()
        for hostname, beat in live.read_heartbeats(redis).items():
            up.add_metric([hostname], 1.0 if now - beat["at"] < live.OFFLINE_AFTER else 0.0)
        yield up


def _families(raw: dict[str, str]):
    counters: dict[str, CounterMetricFamily] = {}
    buckets: dict[tuple[str, tuple], dict[float, float]] = {}
    sums: dict[tuple[str, tuple], float] = {}
    for field, value in raw.items():
        metric, labels = json.loads(field)
        if metric.endswith("_sum"):
            sums[(metric[:-4], tuple(sorted(labels.items())))] = float(value)
        elif "le" in labels:
            le = float(labels.pop("le"))
            key = (metric, tuple(sorted(labels.items())))
            buckets.setdefault(key, {})[le] = float(value)
        else:
            names = sorted(labels)
            family = counters.get(metric)
            if family is None:
                family = counters[metric] = CounterMetricFamily(
                    metric.removesuffix("_total"), HELP.get(metric, metric), labels=names
                )
            family.add_metric([labels[n] for n in names], float(value))
    yield from counters.values()
    histograms: dict[str, HistogramMetricFamily] = {}
    for (metric, labels), counts in buckets.items():
        names = [name for name, _ in labels]
        histogram = histograms.get(metric)
        if histogram is None:
            histogram = histograms[metric] = HistogramMetricFamily(
                metric, HELP.get(metric, metric), labels=names
            )
        cumulative, running = [], 0.0
        for le in RUNTIME_BUCKETS:
            running += counts.get(le, 0.0)
            cumulative.append(("+Inf" if le == float("inf") else str(le), running))
        histogram.add_metric([value for _, value in labels], cumulative,
                          sums.get((metric, labels), 0.0))  # fmt: skip
    yield from histograms.values()


def init_app(app: Flask) -> None:
    """Count requests, and serve /metrics when METRICS_TOKEN is set."""
    shared.redis = app.extensions["redis"]
    os.register_at_fork(after_in_child=shared.after_fork)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SharedCollector(app))
    app.extensions["metrics_registry"] = registry

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def count_request(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is not None:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
            HTTP_DURATION.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response

    app.add_url_rule("/metrics", "metrics", scrape)


def scrape() -> Response:
    """Prometheus text format, for a caller with ``Authorization: Bearer <METRICS_TOKEN>``;
    404 while no token is set."""
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("A bearer token is required.\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'})  # fmt: skip
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        local = CollectorRegistry()
        multiprocess.MultiProcessCollector(local)  # every gunicorn worker's counts
    else:
        local = REGISTRY
    body = generate_latest(local) + generate_latest(current_app.extensions["metrics_registry"])
    return Response(body, content_type=CONTENT_TYPE_LATEST)
