"""Writes a failover must not erase: the answer waits until a replica has them.

Redis replicates asynchronously: a master that dies takes with it what it had
not yet sent on, and Sentinel promotes a replica without it. WAIT, sent right
after the writes in the same round trip, returns once REDIS_WAIT_REPLICAS
replicas acknowledged them or REDIS_WAIT_MS passed. A miss (no replica
answers) stops the waiting for REDIS_WAIT_PAUSE seconds in this process, so a
lost replica costs each request one round trip, not the wait: the writes are
then reported unconfirmed until a WAIT succeeds again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from redis.client import Pipeline


@dataclass
class Replicas:
    count: int = 0  # replicas to wait for; 0: no replica, nothing to wait for
    timeout_ms: int = 100
    pause: float = 1.0
    skip_until: float = 0.0  # no replica answered a moment ago

    @classmethod
    def of_app(cls) -> Replicas:
        """The app's, one per process (the pause is per process)."""
        extensions = current_app.extensions
        if "replicas" not in extensions:
            config = current_app.config
            extensions["replicas"] = cls(
                config["REDIS_WAIT_REPLICAS"], config["REDIS_WAIT_MS"], config["REDIS_WAIT_PAUSE"]
            )
        return extensions["replicas"]

    def wait(self, pipe: Pipeline) -> Callable[[list], bool]:
        """Queue WAIT on ``pipe`` after the writes it covers; the function
        returned tells, from the replies after those of the writes, whether
        they are on enough replicas (always true when none is asked for)."""
        if self.count == 0:
            return lambda replies: True
        if time.monotonic() < self.skip_until:
            return lambda replies: False
        pipe.execute_command("WAIT", self.count, self.timeout_ms)
        return self._confirmed

    def _confirmed(self, replies: list) -> bool:
        if replies[0] >= self.count:
            return True
        self.skip_until = time.monotonic() + self.pause
        return False
