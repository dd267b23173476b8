"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

import redis as redis_lib
from flask import Flask, current_app
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class RedisClient:
    """One Redis connection pool per app, from ``REDIS_URL``."""

    def init_app(self, app: Flask) -> None:
        timeout = app.config["REDIS_TIMEOUT"]
        app.extensions["redis"] = redis_lib.Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
            # One retry for a connection Redis dropped (a restart); none for a
            # timeout, which would only double the wait on a hung server.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis_lib.ConnectionError,)),
        )

    @property
    def client(self) -> redis_lib.Redis:
        return current_app.extensions["redis"]

    def __getattr__(self, name: str):
        return getattr(self.client, name)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
cache = Cache()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)
redis = RedisClient()
talisman = Talisman()
