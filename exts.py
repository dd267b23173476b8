"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

import smtplib
import time

import redis as redis_lib
from flask import Flask, current_app
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Connection, Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel
from sqlalchemy.orm import DeclarativeBase

from blueprints.servers import RedisTarget


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout (MAIL_TIMEOUT): Flask-Mail
    opens smtplib without one, and a silent server would hold a worker forever.
    Not socket.setdefaulttimeout, which is process-wide: threads sending at
    once (the reminder lanes) raced on it and left it set, and every socket
    opened meanwhile (Redis, the database, a listener) inherited it."""

    def configure_host(self) -> smtplib.SMTP:
        kind = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = kind(self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


class TimedMail(Mail):
    def connect(self) -> Connection:
        return TimedConnection(current_app.extensions["mail"])


class Base(DeclarativeBase):
    pass


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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = TimedMail()
babel = Babel()
cache = Cache()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)
redis_client = RedisClient()
talisman = Talisman()
