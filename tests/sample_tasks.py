"""Tasks the tests run on the real worker to show failures, retries and reruns.

They read their flags from the app's Redis, so a test decides when they fail.
"""

from __future__ import annotations

import time

from celery import shared_task

from exts import redis_client


@shared_task(name="tests.flaky", bind=True, max_retries=5)
def flaky(self, key: str, failures: int) -> str:
    """Fails ``failures`` times (counted in Redis), then succeeds."""
    if redis_client.incr(key) <= failures:
        raise self.retry(exc=ConnectionError(f"attempt {self.request.retries + 1} failed"),
                         countdown=0.1)  # fmt: skip
    return "done"


@shared_task(name="tests.broken")
def broken(key: str) -> str:
    """Fails while the Redis flag ``key`` is set."""
    if redis_client.get(key):
        raise ValueError(f"the flag {key} is up")
    redis_client.incr(f"{key}:ran")
    return "fixed"


@shared_task(name="tests.sleepy")
def sleepy(seconds: float) -> str:
    """Runs for ``seconds``: something to terminate."""
    time.sleep(seconds)
    return "woke"
