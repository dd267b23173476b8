"""Redis behind Sentinel loses its master (SIGKILL) in the middle of a rush.

The product runs as in production, gunicorn and a Celery worker in their own
processes, with every Redis user (app data, broker, results) on the Sentinel
deployment of tests/sentinel.py. Nothing accepted may be lost, nothing may be
oversold, and the sale must answer again within seconds.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from redis.sentinel import Sentinel
from sqlalchemy import select

from blueprints.auth.keys import sessions_key
from exts import db, redis_client
from models import SeckillOrder
from tests.helpers import http_call, wait_for
from tests.seckill_helpers import make_buyers, open_sale, session_cookie
from tests.sentinel import MASTER_NAME, SentinelSet
from tests.workers import start_web_process, start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration

STOCK = 1000
BUYERS = 1300  # more than the stock: units a failover frees must find buyers
CLIENTS = 48
KILL_AFTER = 300  # accepted reservations before the master dies
ANSWERED = {200, 202, 409, 410}  # the gate decided (the rest: 503, errors)


@pytest.fixture
def sentinels(tmp_path):
    deployment = SentinelSet(tmp_path / "sentinel")
    yield deployment
    deployment.stop()


@pytest.fixture
def shop(app, sentinels):
    """gunicorn and a worker on the Sentinel deployment, sharing the test database."""
    env = worker_env(
        app,
        REDIS_URL=sentinels.url(0),
        CELERY_BROKER_URL="",  # both derived from REDIS_URL: on Sentinel too
        CELERY_RESULT_BACKEND="",
        HTTPS="0",
        LOG_LEVEL="warning",
        SECKILL_CLAIM_AFTER_MS="2000",  # what a drain held when Redis switched comes back soon
    )
    worker = start_worker_process(env, "-n", "failover@%h")
    web, base = start_web_process(env, workers=2, threads=8)
    try:
        yield base
    finally:
        stop(web, worker)


def _cookies_on(app, sentinels: SentinelSet, user_ids: list[int]) -> list[str]:
    """Login cookies for ``user_ids``, their sessions copied to the Sentinel master."""
    master = Sentinel([("127.0.0.1", port) for port in sentinels.sentinels]).master_for(MASTER_NAME)
    cookies = [session_cookie(app, user_id) for user_id in user_ids]
    with app.app_context(), master.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            key = sessions_key(user_id)
            pipe.zadd(key, dict(redis_client.zrange(key, 0, -1, withscores=True)))
        pipe.execute()
    return cookies


def _code_for(base: str, mailbox, address: str) -> tuple[requests.Session, str]:
    """A browser that asked for a login code, and the code the mail brought."""
    browser = requests.Session()
    mark = mailbox.mark()
    answer = browser.post(f"{base}/api/codes", json={"channel": "email", "target": address})
    assert answer.status_code == 202, answer.text
    return browser, mailbox.last_code_for(address, timeout=60, since=mark)


def test_master_killed_in_a_rush_loses_nothing_and_oversells_nothing(app, sentinels, shop, mailbox):
    base = shop
    sale_id = open_sale(app, STOCK)
    cookies = _cookies_on(app, sentinels, make_buyers(app, BUYERS, prefix="rush"))
    browser, code = _code_for(base, mailbox, "before-failover@example.com")

    answers: list[tuple[float, float, int, dict]] = []  # (sent, answered, status, body)
    killed_at: list[float] = []
    promoted_at: list[float] = []

    def buy(cookie: str) -> None:
        while True:
            sent = time.monotonic()
            try:
                status, _, body, _ = http_call(base, "POST", f"/api/seckill/{sale_id}", {}, cookie)
            except OSError:
                status, body = 0, {}
            answers.append((sent, time.monotonic(), status, body))
            if status in ANSWERED:
                return
            time.sleep(0.2)

    def kill_master_mid_rush() -> None:
        wait_for(
            lambda: sum(status in (200, 202) for *_, status, _ in answers) >= KILL_AFTER,
            timeout=120, message=f"{KILL_AFTER} reservations",
        )  # fmt: skip
        killed_at.append(time.monotonic())
        old = sentinels.kill_master()
        sentinels.wait_for_new_master(old)
        promoted_at.append(time.monotonic())

    killer = threading.Thread(target=kill_master_mid_rush)
    killer.start()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(buy, cookies))
    killer.join()

    kill = killed_at[0]
    accepted = {body["seckill_id"] for *_, status, body in answers if status == 202}
    unconfirmed = {body["seckill_id"] for *_, status, body in answers if status == 200}
    after = [(answered - kill, status) for sent, answered, status, _ in answers if sent > kill]
    decided = min(seconds for seconds, status in after if status in ANSWERED)
    reserved = min(seconds for seconds, status in after if status in (200, 202))
    failed = sum(status not in ANSWERED for _, status in after)
    print(
        f"\nfailover: sentinels promoted the replica {promoted_at[0] - kill:.2f} s after the kill; "
        f"the gate decided again {decided:.2f} s after the kill, took the first "
        f"reservation after {reserved:.2f} s ({failed} tries failed in between); "
        f"{len(accepted)} answered 202, {len(unconfirmed)} answered 200 (no replica confirmed)"
    )
    assert decided < 10, "the gate answers again within 10 s of the kill"

    def orders() -> dict[str, int]:
        with app.app_context():
            query = select(SeckillOrder.reservation_id, SeckillOrder.user_id).where(
                SeckillOrder.activity_id == sale_id
            )
            rows = dict(db.session.execute(query).all())
            db.session.rollback()
            return rows

    wait_for(lambda: accepted <= orders().keys(), timeout=120, message="every 202 written")
    wait_for(lambda: len(orders()) >= STOCK, timeout=60, message="every unit sold")
    written = orders()
    assert len(written) <= STOCK, f"oversold by {len(written) - STOCK}"
    assert len(set(written.values())) == len(written), "one order per buyer"
    assert accepted <= written.keys(), "every 202 has its order"
    assert len(written) == STOCK, "units a failover freed went back on sale and sold"

    login = browser.post(f"{base}/api/login", json={"target": "before-failover@example.com",
                                                    "code": code})  # fmt: skip
    assert login.status_code == 200, f"a code sent before the failover still works: {login.text}"
