"""Flash sales end to end: the gate, orders written by a real worker, results, payment."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from celery.signals import before_task_publish
from sqlalchemy import event

from blueprints.seckill import failover, gate, keys, payment, stock
from exts import db
from tests.helpers import builtin_entry, wait_for
from tests.seckill_helpers import (
    http,
    make_buyers,
    open_sale,
    order_count,
    orders,
    session_cookie,
)

pytestmark = pytest.mark.integration


def buy(client, activity_id: int):
    return client.post(f"/api/seckill/{activity_id}", json={})


def result(client, seckill_id: str) -> dict:
    response = client.get(f"/api/seckill/result/{seckill_id}")
    assert response.status_code == 200, response.json
    return response.json


def purchase(client, activity_id: int) -> dict | None:
    response = client.get(f"/api/seckill/activities/{activity_id}/purchase")
    assert response.status_code == 200, response.json
    return response.json["purchase"]


def as_user(app, client, user_id: int):
    client.set_cookie(
        app.config["SESSION_COOKIE_NAME"], session_cookie(app, user_id).split("=", 1)[1]
    )
    return client


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

        admin.close(admin.get(closed))
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


def test_an_unpaid_order_times_out_and_its_unit_sells_again(app, client, worker, monkeypatch):
    monkeypatch.setitem(app.config, "SECKILL_PAY_TIMEOUT", 1)
    activity_id = open_sale(app, 1)
    slow, other = make_buyers(app, 2)
    seckill_id = buy(as_user(app, client, slow), activity_id).json["seckill_id"]
    wait_for(lambda: result(client, seckill_id)["code"] == 100, message="written")
    order_id = result(client, seckill_id)["order_id"]
    assert buy(as_user(app, client, other), activity_id).status_code == 410

    as_user(app, client, slow)
    wait_for(lambda: result(client, seckill_id)["code"] == 101, message="cancelled")
    assert "not paid in time" in result(client, seckill_id)["message"]
    assert purchase(client, activity_id)["order"]["status"] == "cancelled"
    paid = client.post(f"/api/seckill/orders/{order_id}/pay", json={})
    assert paid.status_code == 409

    # Every process forgot it was sold out: the unit is for sale again, once.
    wait_for(lambda: buy(as_user(app, client, other), activity_id).status_code == 202,
             message="the unit is back")  # fmt: skip
    with app.app_context():
        assert payment.cancel_unpaid([order_id]) == 0, "a second cancel changes nothing"
        assert stock.live_stock([activity_id])[activity_id] == 0


def test_paying_an_order(app, client, worker):
    activity_id = open_sale(app, 3)
    buyer, stranger = make_buyers(app, 2)
    assert purchase(as_user(app, client, buyer), activity_id) is None
    seckill_id = buy(client, activity_id).json["seckill_id"]
    assert purchase(client, activity_id)["seckill_id"] == seckill_id
    wait_for(lambda: result(client, seckill_id)["code"] == 100, message="written")
    order_id = result(client, seckill_id)["order_id"]
    # Another device of the buyer's (a new session) sees the order waiting for payment.
    phone = as_user(app, app.test_client(), buyer)
    assert purchase(phone, activity_id)["order"]["status"] == "pending_payment"

    assert (
        client.post(f"/api/seckill/orders/{order_id}/pay", json={}).json["order"]["status"]
        == "paid"
    )
    assert client.post(f"/api/seckill/orders/{order_id}/pay", json={}).status_code == 200
    with app.app_context():
        assert payment.cancel_unpaid([order_id]) == 0, "a paid order is never cancelled"
    assert purchase(phone, activity_id)["order"]["status"] == "paid"
    as_user(app, client, stranger)
    assert purchase(client, activity_id) is None
    assert client.post(f"/api/seckill/orders/{order_id}/pay", json={}).status_code == 404
    assert client.get(f"/api/seckill/result/{seckill_id}").status_code == 404


def test_preloading_is_idempotent_and_keeps_stock_on_sale(
    app, client, app_redis, celery_app, worker
):
    activity_id = open_sale(app, 3)
    later = open_sale(app, 3, starts_in=3 * 86400)
    (user_id,) = make_buyers(app, 1)
    assert buy(as_user(app, client, user_id), activity_id).status_code == 202
    with app.app_context():
        assert activity_id in stock.preload_today()
        assert later not in stock.preload_today()
    assert int(app_redis.hget(keys.sale_key(activity_id), "stock")) == 2
    assert not app_redis.exists(keys.sale_key(later))

    entry = builtin_entry(app, "preload-todays-sales")
    assert entry["crontab"] == "0 0 * * *" and "timezone" not in entry  # midnight in TIMEZONE
    assert celery_app.conf.timezone == "Asia/Shanghai" and celery_app.conf.enable_utc

    runner = app.test_cli_runner()
    wait_for(lambda: order_count(app, activity_id) == 1, message="written")
    app_redis.delete(keys.sale_key(activity_id))  # as if Redis lost the sale
    outcome = runner.invoke(args=["seckill", "preload"])
    assert outcome.exit_code == 0, outcome.output
    assert int(app_redis.hget(keys.sale_key(activity_id), "stock")) == 2, "counted from orders"


def test_sales_for_administrators(app, client, login_as):
    login_as("admin@example.com")
    now = app.config["TIMEZONE"]
    body = {"title": "Night sale", "product": "Lamp", "price_cents": 1999, "total_stock": 10,
            "starts_at": "2030-01-01T20:00:00", "ends_at": "2030-01-01T21:00:00"}  # fmt: skip
    created = client.post("/api/admin/sales", json=body)
    assert created.status_code == 201, created.json
    sale = created.json["sale"]
    assert sale["starts_at"] == "2030-01-01T12:00:00+00:00", f"read in {now}"
    assert sale["stock_left"] is None, "not today: not loaded"

    edited = client.patch(f"/api/admin/sales/{sale['id']}", json={"total_stock": 5})
    assert edited.json["sale"]["total_stock"] == 5, "before opening, stock may go down"
    bad = [
        ({**body, "total_stock": 0}, "invalid_field"),
        ({**body, "price_cents": "10"}, "invalid_field"),
        ({**body, "starts_at": "tomorrow"}, "invalid_field"),
        ({**body, "ends_at": "2030-01-01T19:00:00"}, "invalid_window"),
        ({**body, "colour": "red"}, "unknown_field"),
        ({k: v for k, v in body.items() if k != "title"}, "missing_field"),
    ]
    for payload, code in bad:
        response = client.post("/api/admin/sales", json=payload)
        assert (response.status_code, response.json["error"]["code"]) == (400, code)

    running = open_sale(app, 4)
    lowered = client.patch(f"/api/admin/sales/{running}", json={"total_stock": 3})
    assert lowered.json["error"]["code"] == "stock_lowered"
    raised = client.patch(f"/api/admin/sales/{running}", json={"total_stock": 6})
    assert raised.json["sale"]["stock_left"] == 6
    closed = client.post(f"/api/admin/sales/{running}/close", json={})
    assert closed.json["sale"]["status"] == "closed"
    listed = client.get("/api/admin/sales").json["sales"]
    assert {s["id"] for s in listed} == {sale["id"], running}
    assert client.get(f"/api/admin/sales/{running}/orders").json["orders"] == []
    assert client.get("/admin/sales").status_code == 200


def test_sales_admin_is_for_admins_only(app, client, login_as):
    assert client.get("/api/admin/sales").status_code == 401
    login_as("shopper@example.com")
    assert client.get("/api/admin/sales").status_code == 403
    assert client.post("/api/admin/sales", json={}).status_code == 403
    assert client.get("/admin/sales").status_code == 403


def test_sale_pages(app, client):
    activity_id = open_sale(app, 2)
    page = client.get(f"/seckill/{activity_id}")
    assert page.status_code == 200 and b"Test sale" in page.data
    assert client.get("/seckill/999999").status_code == 404
    listed = client.get("/api/seckill/activities").json
    assert [a["id"] for a in listed["activities"]] == [activity_id]
    assert listed["activities"][0]["state"] == "open" and listed["server_time"]
    assert b"Test sale" in client.get("/").data


def test_reconciliation_reports_stock_that_disagrees_with_the_orders(
    app, client, celery_app, worker, app_redis, login_as
):
    activity_id = open_sale(app, 5)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", 2)  # units out of nowhere
    celery_app.send_task("seckill.reconcile")
    wait_for(lambda: app_redis.get(keys.drift_key(activity_id)) == "2", message="reported")
    login_as("admin@example.com")
    (sale,) = client.get("/api/admin/sales").json["sales"]
    assert sale["stock_drift"] == 2


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


def test_a_payment_timeout_longer_than_the_visibility_timeout_waits_in_short_hops(
    app, client, worker, monkeypatch
):
    # A Redis broker hands out again any message held past its visibility
    # timeout: one long countdown would cancel many times over.
    transport = {"visibility_timeout": 2}
    monkeypatch.setitem(app.config["CELERY"], "broker_transport_options", transport)
    monkeypatch.setitem(app.config, "SECKILL_PAY_TIMEOUT", 3)
    countdowns: list[float] = []

    def capture(sender=None, headers=None, **kwargs):
        if sender == "seckill.cancel_unpaid" and headers.get("eta"):
            eta = datetime.fromisoformat(headers["eta"])
            countdowns.append((eta - datetime.now(UTC)).total_seconds())

    before_task_publish.connect(capture, weak=False)
    try:
        activity_id = open_sale(app, 5)
        (buyer,) = make_buyers(app, 1, prefix="hops")
        bought = buy(as_user(app, client, buyer), activity_id)
        assert bought.status_code == 202, bought.json
        seckill_id = bought.json["seckill_id"]
        wait_for(lambda: result(client, seckill_id)["code"] == 100, message="written")
        bought_at = time.monotonic()
        wait_for(lambda: result(client, seckill_id)["code"] == 101, message="cancelled")
    finally:
        before_task_publish.disconnect(capture)
    assert time.monotonic() - bought_at > 2, "not cancelled before its time"
    assert len(countdowns) >= 3 and max(countdowns) <= 1.0, countdowns


def test_polled_sale_reads_cost_one_database_read_a_second(app, client):
    activity_id = open_sale(app, 5)
    with app.app_context():
        failover.rebuild()  # as the first buyer or page on a new Redis does: once
    statements = []

    def count(conn, cursor, statement, *args):
        if "FROM seckill_activities" in statement:
            statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    try:
        started = time.monotonic()
        for _ in range(50):
            body = client.get(f"/api/seckill/activities/{activity_id}").json
            client.get("/api/seckill/activities")
        assert time.monotonic() - started < 1 or pytest.skip("this machine is too slow to tell")
        assert len(statements) == 2, "one read for the sale, one for the list"
        assert body["activity"]["stock_left"] == 5

        buyer = make_buyers(app, 1)[0]
        assert buy(as_user(app, app.test_client(), buyer), activity_id).status_code == 202
        fresh = wait_for(
            lambda: (
                client.get(f"/api/seckill/activities/{activity_id}").json["activity"]["stock_left"]
                == 4
            ),
            timeout=3,
            message="the stock a second later",
        )
        assert fresh
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", count)


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
