"""The cache's tasks: delayed and retried invalidations, and beat's refresh;
and ``invalidate_after_commit``, which writers call to queue them."""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

from celery import shared_task
from flask import current_app
from redis import RedisError

from blueprints.caching.interface import CACHES, InterfaceCache
from blueprints.core.queueing import queue_or_log
from blueprints.core.servers import RedisTarget

log = logging.getLogger(__name__)


@shared_task(
    name="cache.invalidate",
    autoretry_for=(RedisError,),
    max_retries=None,  # an invalidation must not be given up
    retry_backoff=True,
    retry_backoff_max=60,
)
def invalidate(name: str) -> None:
    """Drop cache ``name``; retried with backoff until Redis answers.
    Idempotent: a second invalidation only costs one more rebuild."""
    CACHES[name].invalidate()


@shared_task(name="cache.refresh")
def refresh(names: list[str] | None = None) -> dict[str, bool]:
    """Rebuild the named caches (all by default) from the database. Idempotent."""
    done = {}
    for name in names or sorted(CACHES):
        done[name] = CACHES[name].refresh()
        if not done[name]:
            log.info("cache %s: a write came first, the next read rebuilds it", name)
    return done


def invalidate_after_commit(cache: InterfaceCache) -> None:
    """Call after a write committed: drop the entry now and again a little later.

    The second delete covers readers that loaded from a lagging replica. If
    Redis is down now, a task retries the first delete until it answers; if
    the broker is down too, the entry still expires within its TTL and beat's
    refresh rebuilds it.
    """
    try:
        cache.invalidate()
    except RedisError as error:
        log.warning("cache %s: invalidation failed, a task will retry it: %s", cache.name, error)
        if _broker_is_this_redis() or not queue_or_log(invalidate, (cache.name,), countdown=1):
            # The broker is out too: retry here, so the stale entry goes as soon
            # as Redis is back rather than when its TTL runs out.
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            threading.Thread(target=_invalidate_when_back, args=(app, cache), daemon=True).start()
            return
    delay = current_app.config["INTERFACE_CACHE_SECOND_DELETE_DELAY"]
    queue_or_log(invalidate, (cache.name,), countdown=delay)


def _broker_is_this_redis() -> bool:
    """Whether the broker is the Redis that just failed: asking it would only wait again."""
    config = current_app.config
    broker = config["CELERY"]["broker_url"]
    target = RedisTarget.parse(config["REDIS_URL"])
    if target.sentinels:
        return broker.startswith("sentinel://")
    parts = urlsplit(broker)
    return parts.scheme.startswith("redis") and parts.netloc == urlsplit(target.url).netloc


def _invalidate_when_back(app, cache: InterfaceCache) -> None:
    deadline = time.monotonic() + app.config["INTERFACE_CACHE_TTL"]  # by then the entry has expired
    delay = 0.5
    with app.app_context():
        while time.monotonic() < deadline:
            time.sleep(delay)
            try:
                cache.invalidate()
                return
            except RedisError:
                delay = min(delay * 2, 5)
