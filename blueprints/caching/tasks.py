"""The cache's tasks: delayed and retried invalidations, and beat's refresh."""

from __future__ import annotations

import logging

from celery import shared_task
from redis import RedisError

from blueprints.caching.interface import CACHES

log = logging.getLogger(__name__)


@shared_task(name="cache.invalidate", bind=True, max_retries=None)
def invalidate(self, name: str) -> None:
    """Drop cache ``name``; retried until Redis answers. Idempotent: a second
    invalidation only costs one more rebuild."""
    try:
        CACHES[name].invalidate()
    except RedisError as error:
        # Backoff capped at a minute: an invalidation must not be given up.
        raise self.retry(exc=error, countdown=min(2**self.request.retries, 60)) from None


@shared_task(name="cache.refresh")
def refresh(names: list[str] | None = None) -> dict[str, bool]:
    """Rebuild the named caches (all by default) from the database. Idempotent."""
    done = {}
    for name in names or sorted(CACHES):
        done[name] = CACHES[name].refresh()
        if not done[name]:
            log.info("cache %s: a write came first, the next read rebuilds it", name)
    return done
