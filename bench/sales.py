"""What every sale bench starts from: the app the bench process talks
through, logged-in buyers as wrk's cookie file, a fresh open sale (the tests'
factory), and the wait until the worker has written every order."""

from __future__ import annotations

import time
from pathlib import Path

from app import create_app
from bench.harness import wrk
from blueprints.seckill import keys
from exts import redis_client
from tests.seckill_helpers import make_buyers, open_sale, order_count, session_cookie

USERS = 20_000
CONNECTIONS = 50


def bench_app(environment: dict):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": environment["DATABASE_URL"],
            "REDIS_URL": environment["REDIS_URL"],
            "SECRET_KEY": environment["SECRET_KEY"],
            "CELERY": {
                "broker_url": environment["CELERY_BROKER_URL"],
                "result_backend": environment["CELERY_RESULT_BACKEND"],
            },
        }
    )


def logged_in_users(app, path: Path) -> None:
    """USERS accounts, and one session cookie per line in ``path``."""
    path.write_text(
        "".join(session_cookie(app, i) + "\n" for i in make_buyers(app, USERS, "bench"))
    )


def new_sale(app, stock: int) -> int:
    """A sale open from a second ago, as an admin creates it."""
    return open_sale(app, stock, starts_in=-1)


def settled_orders(app, activity_id: int, timeout: float = 120) -> int:
    """Orders of the sale once no reservation waits any more."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while redis_client.xlen(keys.STREAM) and time.monotonic() < deadline:
            time.sleep(0.1)
    return order_count(app, activity_id)


def as_users(base: str, method: str, path: str, cookies: Path, seconds: int,
             connections: int = CONNECTIONS) -> dict:  # fmt: skip
    return wrk(base, "seckill.lua", seconds, connections, args=[method, path, str(cookies)])
