"""A hung Redis (SIGSTOP: it accepts connections and never answers) costs each
request about a second: a normal answer or a JSON 503 with Retry-After, never a
page that waits for the OS's timeouts, and never an error for a committed write.

The product runs under gunicorn here, as in production, against a Redis of its own.
"""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import select

from blueprints.auth.keys import sessions_key
from devtools import free_port, redis_server
from exts import db, redis_client
from models import Banner, User
from tests.helpers import add_banners, wait_for
from tests.helpers import http_call as call
from tests.seckill_helpers import open_sale, session_cookie
from tests.workers import start_web_process, worker_env

pytestmark = pytest.mark.integration

FAST = 2.5  # seconds: "about 2 s", with room for a busy machine


@pytest.fixture
def stack(app, tmp_path):
    """gunicorn serving the product, with a Redis (app data, broker, results) of its own."""
    port = free_port()
    redis_process = redis_server.start(port, tmp_path / "redis")
    url = f"redis://127.0.0.1:{port}"
    env = worker_env(
        app,
        REDIS_URL=f"{url}/0",
        CELERY_BROKER_URL=f"{url}/1",
        CELERY_RESULT_BACKEND=f"{url}/2",
        ADMIN_EMAILS="admin@example.com",
        HTTPS="0",  # the test speaks plain HTTP
    )
    web, base = start_web_process(env, workers=2)
    try:
        yield base, redis_process, redis.Redis.from_url(f"{url}/0")
    finally:
        redis_process.send_signal(signal.SIGCONT)
        web.terminate()
        web.wait(20)
        redis_process.kill()
        redis_process.wait(10)


def test_every_endpoint_answers_fast_while_redis_hangs(app, stack):
    base, redis_process, own_redis = stack
    (banner_id,) = add_banners(app, "Spring sale")
    sale_id = open_sale(app, 5)
    with app.app_context():
        admin, buyer = User(email="admin@example.com"), User(email="hung@example.com")
        db.session.add_all([admin, buyer])
        db.session.commit()
        admin_cookie, buyer_cookie = session_cookie(app, admin.id), session_cookie(app, buyer.id)
        # Their sessions live in the test app's Redis: the product here has its own.
        for user_id in (admin.id, buyer.id):
            key = sessions_key(user_id)
            own_redis.zadd(key, dict(redis_client.zrange(key, 0, -1, withscores=True)))

    code = {"channel": "email", "target": "hung@example.com"}
    requests = [
        ("GET", "/healthz", None, None),
        ("GET", "/", None, None),
        ("GET", "/login", None, None),
        ("POST", "/api/codes", code, None),
        ("POST", "/api/login", {"target": "hung@example.com", "code": "123456"}, None),
        ("GET", "/api/me", None, buyer_cookie),
        ("GET", "/api/tasks/some-task", None, buyer_cookie),
        ("GET", "/api/banners", None, None),
        ("GET", "/api/seckill/activities", None, None),
        ("GET", f"/api/seckill/activities/{sale_id}", None, None),
        ("GET", f"/seckill/{sale_id}", None, None),
        ("POST", f"/api/seckill/{sale_id}", {}, buyer_cookie),
        ("GET", "/api/seckill/result/some-purchase", None, buyer_cookie),
        ("GET", "/api/admin/sales", None, admin_cookie),
        ("GET", "/api/admin/banners", None, admin_cookie),
    ]
    for method, path, body, cookie in requests:  # warm: pooled connections exist
        call(base, method, path, body, cookie)

    redis_process.send_signal(signal.SIGSTOP)
    for method, path, body, cookie in requests:
        status, headers, answer, seconds = call(base, method, path, body, cookie)
        where = f"{method} {path}: {status} in {seconds:.2f} s"
        assert seconds < FAST, where
        assert status < 500 or status == 503, where
        if status == 503:
            assert answer["error"]["code"] == "service_unavailable", where
            assert int(headers["Retry-After"]) > 0, where

    # A committed admin write says it is saved, and it is.
    patch = {"title": "Edited while Redis hung"}
    status, _, answer, seconds = call(
        base, "PATCH", f"/api/admin/banners/{banner_id}", patch, admin_cookie
    )
    assert status == 200 and seconds < FAST, (status, answer, seconds)
    with app.app_context():
        assert (
            db.session.scalar(select(Banner.title).where(Banner.id == banner_id)) == patch["title"]
        )

    # Requests that wait together still answer fast, and so does a health check.
    with ThreadPoolExecutor(5) as pool:
        codes = [pool.submit(call, base, "POST", "/api/codes", code) for _ in range(4)]
        health = pool.submit(call, base, "GET", "/healthz").result()
        waited = [future.result() for future in codes]
    assert health[0] == 200 and health[3] < FAST, health
    assert all(answer[0] == 503 and answer[3] < 2 * FAST for answer in waited), waited

    redis_process.send_signal(signal.SIGCONT)
    wait_for(
        lambda: call(base, "GET", "/api/banners")[2]["banners"][0]["title"] == patch["title"],
        timeout=30,
        message="the edit shows once Redis answers",
    )
