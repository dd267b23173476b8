"""Queueing work for the worker from web code, without the worker's entry module.

Feature code names its tasks through their own ``tasks.py`` (``@shared_task``),
so it never imports ``tasks.py``, which builds the app for ``celery -A``.
"""

from __future__ import annotations

import logging
import random

from flask import current_app
from kombu.exceptions import OperationalError
from redis import RedisError

log = logging.getLogger(__name__)


def queue_or_log(task, args: tuple = (), **options) -> bool:
    """Queue ``task`` without waiting on an unreachable broker; False (and a
    warning) if it could not be queued. Only for work that also waits safely
    elsewhere (an outbox, a stream, a TTL) until a periodic sweep finds it."""
    try:
        task.apply_async(args, retry=False, **options)
        return True
    except (OperationalError, RedisError) as error:
        log.warning("could not queue %s: %s", task.name, error)
        return False


def registered_tasks() -> list[str]:
    """The tasks this app defines, not Celery's own: what a schedule entry may
    name and what the task history filters by."""
    celery = current_app.extensions["celery"]
    return sorted(name for name in celery.tasks if not name.startswith("celery."))


DELAY_BITS = 28  # kombu.transport.native_delayed_delivery


def queue_of(routing_key: str | None) -> str | None:
    """The queue a routing key leads to. RabbitMQ's native delayed delivery
    prefixes it with the delay in 28 binary digits ("0.0.…1.1.celery")."""
    if not routing_key:
        return None
    parts = routing_key.split(".", DELAY_BITS)
    if len(parts) > DELAY_BITS and all(bit in "01" for bit in parts[:DELAY_BITS]):
        return parts[DELAY_BITS]
    return routing_key


def retry_later(task, error: Exception, base: float = 2.0, most: float = 60.0):
    """Raise ``task.retry`` with exponential backoff and equal jitter.

    Half of each delay is fixed and half random: clients spread out, yet none
    comes back at once (Celery's full jitter can pick 0 s). After max_retries
    ``retry`` raises ``error`` and the task fails.
    """
    delay = min(most, base * 2**task.request.retries)
    raise task.retry(exc=error, countdown=delay / 2 + random.uniform(0, delay / 2))
