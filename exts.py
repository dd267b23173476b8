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
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


class RedisClient:
    """One Redis connection pool per app, from ``REDIS_URL``."""

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = redis_lib.Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
            health_check_interval=30,
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
