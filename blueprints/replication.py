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

from flask import current_app
from redis.client import Pipeline

_skip_until = 0.0  # per process: no replica answered a moment ago


def wait(pipe: Pipeline) -> Callable[[list], bool]:
    """Queue WAIT on ``pipe`` after the writes it covers; the function returned
    tells, from the replies after those of the writes, whether they are on
    enough replicas (always true when no replica is asked for)."""
    config = current_app.config
    replicas = config["REDIS_WAIT_REPLICAS"]
    if replicas == 0:
        return lambda replies: True
    if time.monotonic() < _skip_until:
        return lambda replies: False
    pipe.execute_command("WAIT", replicas, config["REDIS_WAIT_MS"])

    def confirmed(replies: list) -> bool:
        global _skip_until
        if replies[0] >= replicas:
            return True
        _skip_until = time.monotonic() + config["REDIS_WAIT_PAUSE"]
        return False

    return confirmed
