"""The product's own Redis client: one pool per app, through Sentinel when
``REDIS_URL`` names one, failing fast while Redis hangs."""

from __future__ import annotations

import time

import redis as redis_lib
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from blueprints.core.servers import RedisTarget


class FailFast(Retry):
    """redis-py's retry policy, plus a short pause after a timeout: for
    ``pause`` seconds every call fails at once, so a hung Redis costs a request
    one timeout, not one per call. One retry for a connection Redis dropped (a
    restart); none for a timeout, which would only double the wait."""

    def __init__(self, pause: float) -> None:
        super().__init__(NoBackoff(), 1, supported_errors=(redis_lib.ConnectionError,))
        self.pause = pause
        self.paused_until = 0.0

    def __deepcopy__(self, memo):
        return self  # redis-py copies the policy per connection; the pause is per process

    def call_with_retry(self, do, fail, *args, **kwargs):
        return self.guard(lambda: super(FailFast, self).call_with_retry(do, fail, *args, **kwargs))

    def guard(self, do):
        """``do()``, unless paused; a timeout starts the pause."""
        if time.monotonic() < self.paused_until:
            raise redis_lib.TimeoutError(
                "Redis timed out a moment ago; not waiting on it again yet"
            )
        try:
            return do()
        except redis_lib.TimeoutError:
            self.paused_until = time.monotonic() + self.pause
            raise


def _guarded_handshake(connection: redis_lib.Connection) -> None:
    # A new connection's handshake (CLIENT SETINFO, SELECT) runs outside the
    # retry policy in redis-py: guard it too, or each reconnect to a hung
    # Redis waits a full timeout before its first command.
    retry = connection.retry
    assert isinstance(retry, FailFast)
    retry.guard(connection.on_connect)


class RedisClient:
    """One Redis connection pool per app, from ``REDIS_URL``: one server, or
    the master that Sentinel names (``redis+sentinel://``), followed through a
    failover: each new connection asks the sentinels where the master is, and
    a connection to a master demoted to replica is dropped on its first write."""

    def init_app(self, app: Flask) -> None:
        timeout = app.config["REDIS_TIMEOUT"]
        options = {
            "decode_responses": True,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "health_check_interval": 30,
            "retry": FailFast(pause=2 * timeout),
            "redis_connect_func": _guarded_handshake,
        }
        target = RedisTarget.parse(app.config["REDIS_URL"])
        if target.sentinels:
            sentinels = Sentinel(
                target.sentinels,
                sentinel_kwargs=app.config.get("REDIS_SENTINEL_OPTIONS", {}),
            )
            client = sentinels.master_for(
                target.master, db=target.db, password=target.password, **options
            )
        else:
            client = redis_lib.Redis.from_url(target.url, **options)
        app.extensions["redis"] = client

    @property
    def current(self) -> redis_lib.Redis:
        """The current app's client (what attribute access here goes to)."""
        return current_app.extensions["redis"]

    def __getattr__(self, name: str):
        return getattr(self.current, name)
