"""One beat at a time: ``celery -A tasks.celery beat`` may run twice (a standby
for failover), but only the beat holding a short lease in Redis sends.

The holder renews its lease every third of ``BEAT_LOCK_SECONDS``; a standby
checks as often, and takes over once a holder that died lets it lapse. A beat
that cannot reach Redis sends nothing: without the lease it cannot know that
no other beat is sending.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid

import redis as redis_lib
from celery.beat import PersistentScheduler

from blueprints.lua import script

log = logging.getLogger(__name__)

LOCK_KEY = "beat:v1:lock"


class LockedScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, sending only while it holds the lease."""

    def __init__(self, app, *args, **kwargs) -> None:
        flask_app = app.flask_app
        self.redis: redis_lib.Redis = flask_app.extensions["redis"]
        self.lease = flask_app.config["BEAT_LOCK_SECONDS"]
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False
        super().__init__(app, *args, **kwargs)

    def tick(self, *args, **kwargs) -> float:
        check_again = self.lease / 3
        if not self._hold():
            return check_again
        return min(super().tick(*args, **kwargs), check_again)

    def _hold(self) -> bool:
        """Take or renew the lease; whether this beat holds it."""
        try:
            held = bool(script(self.redis, "blueprints.schedules", "hold_lease")(
                keys=[LOCK_KEY], args=[self.token, int(self.lease * 1000)]))  # fmt: skip
        except redis_lib.RedisError as error:
            log.warning("beat: Redis unreachable, sending nothing meanwhile: %s", error)
            held = False
        if held != self.holding:
            log.info("beat %s: %s", self.token, "sending" if held else "standing by")
            self.holding = held
        return held

    def close(self) -> None:
        """Give the lease up at once, so a standby need not wait it out."""
        with contextlib.suppress(redis_lib.RedisError):  # else it lapses by itself
            script(self.redis, "blueprints.schedules", "release_lease")(
                keys=[LOCK_KEY], args=[self.token]
            )
        super().close()
