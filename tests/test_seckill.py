"""Flash sales end to end: the gate and its refusals, orders written by a real worker, results."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from blueprints.seckill import gate, keys
from tests.helpers import builtin_entry, wait_for
from tests.seckill_helpers import (
    as_user,
    buy,
    http,
    make_buyers,
    open_sale,
    order_count,
    orders,
    result,
    session_cookie,
)

pytestmark = pytest.mark.integration


def test_exactly_the_stock_is_sold_to_distinct_buyers(app, live_server, worker, app_redis):
    stock, buyers = 25, 120
    activity_id = open_sale(app, stock)
    cookies = [session_cookie(app, user_id) for user_id in make_buyers(app, buyers)]

    def attempt(cookie: str) -> tuple[int, dict]:
        return http(live_server, "POST", f"/api/seckill/{activity_id}", cookie)

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(attempt, cookies))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(202) == stock
    assert statuses.count(410) == buyers - stock
    assert int(app_redis.hget(keys.sale_key(activity_id), "stock")) == 0

    wait_for(lambda: order_count(app, activity_id) == stock, message="orders written")
    written = orders(app, activity_id)
    assert len({order.user_id for order in written}) == stock
    assert {order.status for order in written} == {"pending_payment"}
    accepted = {body["seckill_id"] for status, body in answers if status == 202}
    assert {order.reservation_id for order in written} == accepted
    for (status, body), cookie in zip(answers, cookies, strict=True):
        if status == 202:
            code, polled = http(
                live_server, "GET", f"/api/seckill/result/{body['seckill_id']}", cookie
            )
            assert polled["code"] == 100 and polled["order_id"]


def test_a_second_click_never_takes_a_second_unit(app, client, worker):
    activity_id = open_sale(app, 5)
    (user_id,) = make_buyers(app, 1)
    as_user(app, client, user_id)
    first = buy(client, activity_id)
    assert first.status_code == 202
    again = buy(client, activity_id)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_bought"
    assert again.json["seckill_id"] == first.json["seckill_id"]
    wait_for(lambda: result(client, first.json["seckill_id"])["code"] == 100, message="written")
    assert order_count(app, activity_id) == 1
    assert client.get(f"/api/seckill/activities/{activity_id}").json["activity"]["stock_left"] == 4


def test_the_gate_refuses_clearly(app, client):
    (user_id,) = make_buyers(app, 1)
    upcoming = open_sale(app, 5, starts_in=600)
    over = open_sale(app, 5, starts_in=-7200, lasts=3600)
    closed = open_sale(app, 5)
    tomorrow = open_sale(app, 5, starts_in=2 * 86400)
    assert buy(client, closed).status_code == 401

    as_user(app, client, user_id)
    with app.app_context():
        from blueprints.seckill import admin

        admin.close(closed)
    cases = [
        (upcoming, 403, "not_open_yet"),
        (tomorrow, 403, "not_open_yet"),
        (over, 403, "closed"),
        (closed, 403, "closed"),
        (999_999, 404, "not_found"),
    ]
    for activity_id, status, code in cases:
        response = buy(client, activity_id)
        assert (response.status_code, response.json["error"]["code"]) == (status, code)
    assert int(buy(client, upcoming).headers["Retry-After"]) > 500
    assert client.post(f"/api/seckill/{upcoming}", data="x").status_code == 415
    assert client.get("/api/seckill/result/nope").status_code == 404


def test_sold_out_is_answered_without_redis_once_seen(app, client, app_redis, monkeypatch):
    activity_id = open_sale(app, 1)
    first, second, third = make_buyers(app, 3)
    assert buy(as_user(app, client, first), activity_id).status_code == 202
    assert buy(as_user(app, client, second), activity_id).status_code == 410

    def no_redis(*args, **kwargs):
        raise AssertionError("a known sold-out sale must not ask Redis")

    monkeypatch.setattr(gate, "reserve", no_redis)
    assert buy(as_user(app, client, third), activity_id).status_code == 410


def test_a_redelivered_reservation_creates_no_second_order(
    app, client, celery_app, worker, app_redis
):
    activity_id = open_sale(app, 5)
    (user_id,) = make_buyers(app, 1)
    seckill_id = buy(as_user(app, client, user_id), activity_id).json["seckill_id"]
    wait_for(lambda: result(client, seckill_id)["code"] == 100, message="written")
    order_id = result(client, seckill_id)["order_id"]

    # The same reservation once more, as a broker redelivery or a replayed entry would bring it.
    fields = {"activity": activity_id, "user": user_id, "seckill_id": seckill_id,
              "price_cents": 990, "at": 1.0}  # fmt: skip
    app_redis.xadd(keys.STREAM, fields)
    celery_app.send_task("seckill.drain_orders")
    wait_for(lambda: app_redis.xlen(keys.STREAM) == 0, message="drained")
    assert order_count(app, activity_id) == 1
    assert result(client, seckill_id) == {"code": 100, "message": "Your order is placed.",
                                          "order_id": order_id}  # fmt: skip


def test_reconciliation_writes_a_reservation_nobody_asked_to_drain(
    app, client, celery_app, worker, app_redis
):
    activity_id = open_sale(app, 5)
    (user_id,) = make_buyers(app, 1)
    # As if the web process died right after the gate: the reservation is in
    # Redis, but no drain task was ever queued.
    app_redis.set(keys.DRAIN_KICKED, "1", ex=60)
    seckill_id = buy(as_user(app, client, user_id), activity_id).json["seckill_id"]
    assert result(client, seckill_id)["code"] == 102
    assert order_count(app, activity_id) == 0

    entry = builtin_entry(app, "reconcile-sales")
    assert entry["every_seconds"] == 60.0
    celery_app.send_task(entry["task"])  # as beat sends it
    wait_for(lambda: result(client, seckill_id)["code"] == 100, message="reconciled")
    assert order_count(app, activity_id) == 1


def test_a_full_queue_refuses_before_taking_a_unit(app, client, app_redis, monkeypatch):
    monkeypatch.setitem(app.config, "SECKILL_MAX_PENDING", 1)
    app_redis.set(keys.DRAIN_KICKED, "1", ex=60)  # no worker drains: the queue stays full
    activity_id = open_sale(app, 5)
    first, second = make_buyers(app, 2)
    assert buy(as_user(app, client, first), activity_id).status_code == 202
    refused = buy(as_user(app, client, second), activity_id)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "busy"
    assert refused.headers["Retry-After"] == "1"
    assert int(app_redis.hget(keys.sale_key(activity_id), "stock")) == 4
    assert app_redis.xlen(keys.STREAM) == 1, "the waiting reservation is kept"


def test_a_replayed_gate_call_returns_the_same_reservation(app, app_redis, monkeypatch):
    """redis-py sends a command again when the connection drops before the
    answer: the gate sees the very same call twice and must answer it twice
    the same, with one unit taken."""
    activity_id = open_sale(app, 5)
    (buyer,) = make_buyers(app, 1)
    same = uuid.uuid4()
    monkeypatch.setattr(gate.uuid, "uuid4", lambda: same)
    with app.app_context():
        first = gate.reserve(activity_id, buyer)
        again = gate.reserve(activity_id, buyer)
    assert (first.outcome, again.outcome) == ("ok", "ok")
    assert first.seckill_id == again.seckill_id == str(same)
    assert app_redis.hget(keys.sale_key(activity_id), "stock") == "4", "one unit taken"
    assert app_redis.xlen(keys.STREAM) == 1, "one reservation to write"


def test_a_sale_waiting_for_its_rebuild_says_paused(app, client, app_redis):
    """After a failover the sales pause until one process rebuilt them from
    the database (failover.py): pages say so, and Buy says when to try again."""
    activity_id = open_sale(app, 5)
    (buyer,) = make_buyers(app, 1)
    as_user(app, client, buyer)
    app_redis.set(keys.FENCE, "the-old-master")  # what a promoted replica holds
    app_redis.set(keys.REBUILDING, "another-process", ex=30)  # a rebuild under way elsewhere

    assert (
        client.get(f"/api/seckill/activities/{activity_id}").json["activity"]["state"] == "paused"
    )
    refused = buy(client, activity_id)
    assert refused.status_code == 503 and refused.json["error"]["code"] == "sale_paused"
    assert refused.headers["Retry-After"] == "1" and "paused" in refused.json["error"]["message"]

    app_redis.delete(keys.REBUILDING)  # that process died: its lock lapsed
    time.sleep(1.1)  # the page's snapshot is a second old at most
    assert client.get(f"/api/seckill/activities/{activity_id}").json["activity"]["state"] == "open"
    assert buy(client, activity_id).status_code == 202
