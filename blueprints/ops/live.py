"""What is happening now: queue lengths from the broker, workers from remote
control and their heartbeats in Redis."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis as redis_lib
from celery import Celery, bootsteps

from blueprints.ops.keys import HEARTBEATS_KEY

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# A worker silent this long is shown as offline; after a day it is forgotten.
OFFLINE_AFTER = 3 * HEARTBEAT_SECONDS
FORGET_AFTER = 86400.0


def queue_names(celery: Celery) -> list[str]:
    """The queues this app sends to: the default one and any that routes name."""
    names = {celery.conf.task_default_queue, *celery.amqp.queues.keys()}
    routes = celery.conf.task_routes
    if isinstance(routes, dict):
        names |= {r["queue"] for r in routes.values() if isinstance(r, dict) and r.get("queue")}
    return sorted(names)


def queue_lengths(celery: Celery, names: list[str]) -> list[dict[str, Any]]:
    """Messages waiting in each queue and its consumers, as the broker counts
    them (a passive declare: RabbitMQ and Redis both answer it through kombu).
    Redis keeps no consumers (kombu answers 0 however many listen): None there."""
    found = []
    with celery.connection_for_read() as connection:
        counted = connection.transport.driver_type != "redis"
        for name in names:
            channel = connection.channel()
            try:
                _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                found.append({"name": name, "messages": messages,
                              "consumers": consumers if counted else None})  # fmt: skip
            except Exception as error:  # the queue does not exist (yet) on this broker
                log.debug("queue %s: %s", name, error)
                found.append({"name": name, "messages": 0, "consumers": 0 if counted else None,
                              "missing": True})  # fmt: skip
            finally:
                # AMQP closes the channel itself when it answers a missing queue.
                with contextlib.suppress(Exception):
                    channel.close()
    return found


def inspect_workers(celery: Celery, timeout: float) -> dict[str, dict[str, Any]]:
    """Each answering worker's stats, active, reserved and scheduled tasks.

    The four broadcasts run at once, each waiting at most ``timeout``: a worker
    that does not answer costs the page ``timeout``, not four of them."""
    methods = ("stats", "active", "reserved", "scheduled")

    def ask(method: str) -> dict[str, Any]:
        try:
            return getattr(celery.control.inspect(timeout=timeout), method)() or {}
        except Exception as error:  # the broker is away: no worker answers
            log.warning("remote control %s: %s", method, error)
            return {}

    with ThreadPoolExecutor(len(methods)) as pool:
        answers = dict(zip(methods, pool.map(ask, methods), strict=True))
    workers: dict[str, dict[str, Any]] = {}
    for method, replies in answers.items():
        for hostname, reply in replies.items():
            workers.setdefault(hostname, {})[method] = reply
    return workers


def describe_workers(celery: Celery, redis: redis_lib.Redis, timeout: float) -> list[dict]:
    """Workers that answered remote control or sent a heartbeat lately."""
    answers = inspect_workers(celery, timeout)
    beats = read_heartbeats(redis)
    now = time.time()
    described = []
    for hostname in sorted(set(answers) | set(beats)):
        answer = answers.get(hostname, {})
        stats = answer.get("stats") or {}
        pool = stats.get("pool") or {}
        beat = beats.get(hostname) or {}
        last = beat.get("at")
        described.append({
            "hostname": hostname,
            "answering": hostname in answers,
            "online": hostname in answers or (last is not None and now - last < OFFLINE_AFTER),
            "last_heartbeat": last,
            "pool": _pool_name(pool.get("implementation")) or beat.get("pool"),
            "concurrency": pool.get("max-concurrency", beat.get("concurrency")),
            "pid": stats.get("pid", beat.get("pid")),
            "active": [_task_brief(t) for t in answer.get("active") or []],
            "reserved": len(answer.get("reserved") or []),
            "scheduled": len(answer.get("scheduled") or []),
            "processed": sum((stats.get("total") or {}).values()),
        })  # fmt: skip
    return described


def _pool_name(implementation: str | None) -> str | None:
    """ "solo" from "celery.concurrency.solo:TaskPool"."""
    return implementation.split(":")[0].rsplit(".", 1)[-1] if implementation else None


def _task_brief(task: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": task.get("id"), "name": task.get("name"),
            "started": task.get("time_start")}  # fmt: skip


def read_heartbeats(redis: redis_lib.Redis) -> dict[str, dict[str, Any]]:
    """Last heartbeat of each worker seen in the last day; older ones are dropped."""
    try:
        raw: dict[str, str] = redis.hgetall(HEARTBEATS_KEY)  # type: ignore[assignment]
    except redis_lib.RedisError as error:
        log.warning("heartbeats: %s", error)
        return {}
    beats, stale, now = {}, [], time.time()
    for hostname, text in raw.items():
        beat = json.loads(text)
        if now - beat["at"] > FORGET_AFTER:
            stale.append(hostname)
        else:
            beats[hostname] = beat
    if stale:
        redis.hdel(HEARTBEATS_KEY, *stale)
    return beats


class Heartbeat(bootsteps.StartStopStep):
    """A worker's heartbeat in Redis every few seconds, removed when it stops:
    the dashboard and /metrics know the workers without asking them over the
    broker. A consumer bootstep, so every worker runs it, however started."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, consumer, **kwargs) -> None:
        super().__init__(consumer, **kwargs)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, consumer) -> None:
        redis = consumer.app.flask_app.extensions["redis"]
        controller = consumer.controller
        hostname = consumer.hostname
        info = {
            "pid": os.getpid(),
            "pool": _pool_name(type(controller.pool).__module__) if controller else None,
            "concurrency": controller.concurrency if controller else None,
        }
        self.stopped.clear()

        def loop() -> None:
            while not self.stopped.is_set():
                try:
                    redis.hset(HEARTBEATS_KEY, hostname, json.dumps({**info, "at": time.time()}))
                except redis_lib.RedisError as error:
                    log.debug("heartbeat: %s", error)
                self.stopped.wait(HEARTBEAT_SECONDS)
            with contextlib.suppress(redis_lib.RedisError):
                redis.hdel(HEARTBEATS_KEY, hostname)

        self.thread = threading.Thread(target=loop, name="worker-heartbeat", daemon=True)
        self.thread.start()

    def stop(self, consumer) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(2)

    shutdown = stop
