"""How beats agree: the lease only the sending beat holds, and the channel
where every schedule edit is announced to it."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

import redis as redis_lib

from blueprints.core.lua import script
from blueprints.schedules.keys import CHANGED_CHANNEL, LOCK_KEY

log = logging.getLogger(__name__)


class Lease:
    """One beat at a time: the holder renews a lease in Redis every third of
    its length; a standby takes over once a holder that died lets it lapse.
    Without Redis a beat holds nothing: it cannot know that no other sends."""

    def __init__(self, client: redis_lib.Redis, seconds: float) -> None:
        self.client = client
        self.seconds = seconds
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.holding = False
        self.renewed_at = 0.0  # monotonic

    def hold(self) -> bool:
        """Take or renew the lease; whether this beat holds it."""
        started = time.monotonic()
        try:
            held = bool(script(self.client, "blueprints.schedules", "hold_lease")(
                keys=[LOCK_KEY], args=[self.token, int(self.seconds * 1000)]))  # fmt: skip
        except redis_lib.RedisError as error:
            log.warning("beat: Redis unreachable, sending nothing meanwhile: %s", error)
            held = False
        if held != self.holding:
            log.info("beat %s: %s", self.token, "sending" if held else "standing by")
            self.holding = held
        if held:
            self.renewed_at = started
        return held

    def confirm(self) -> bool:
        """Whether it is still held, asking Redis again if the last renewal is old."""
        fresh = time.monotonic() - self.renewed_at < self.seconds / 3
        return (self.holding and fresh) or self.hold()

    def release(self) -> None:
        """Give the lease up at once, so a standby need not wait it out."""
        with contextlib.suppress(redis_lib.RedisError):  # else it lapses by itself
            script(self.client, "blueprints.schedules", "release_lease")(
                keys=[LOCK_KEY], args=[self.token]
            )
        self.holding = False


class ChangeNotices:
    """The Redis channel where every schedule change is announced."""

    def __init__(self, client: redis_lib.Redis) -> None:
        self.client = client
        self.pubsub: Any = None

    def wait(self, timeout: float) -> bool:
        """Up to ``timeout`` seconds for a notice; whether one came."""
        deadline = time.monotonic() + timeout
        try:
            if self.pubsub is None:
                self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                self.pubsub.subscribe(CHANGED_CHANNEL)
            came = False
            while (left := deadline - time.monotonic()) > 0 and not came:
                came = self.pubsub.get_message(timeout=left) is not None
            while came and self.pubsub.get_message(timeout=0) is not None:
                pass  # several edits at once: one reload
            return came
        except redis_lib.RedisError:
            self.close()  # subscribe again next time; the periodic check covers the gap
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        if self.pubsub is not None:
            with contextlib.suppress(redis_lib.RedisError, OSError):
                self.pubsub.close()
            self.pubsub = None
