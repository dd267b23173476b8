"""Flash-sale orders after the gate: payment, the unpaid timeout, preloading."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.signals import before_task_publish

from blueprints.seckill import keys, payment, stock
from models.types import utcnow
from tests.helpers import builtin_entry, wait_for
from tests.seckill_helpers import (
    as_user,
    buy,
    make_buyers,
    open_sale,
    order_count,
    purchase,
    result,
    write_order,
)

pytestmark = pytest.mark.integration


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


def test_a_payment_after_its_deadline_is_refused_without_a_worker(app, client, app_redis):
    # No worker runs: the delayed cancel is late, and the clock must still hold.
    activity_id = open_sale(app, 1)
    (buyer,) = make_buyers(app, 1, prefix="late")
    late = utcnow() - timedelta(seconds=app.config["SECKILL_PAY_TIMEOUT"] + 5)
    order_id = write_order(app, activity_id, buyer, created_at=late)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", -1)  # the unit it holds

    answer = as_user(app, client, buyer).post(f"/api/seckill/orders/{order_id}/pay", json={})
    assert answer.status_code == 409, answer.json
    assert answer.json["error"]["message"] == "The order was not paid in time and was cancelled."
    assert purchase(client, activity_id)["order"]["status"] == "cancelled"
    assert app_redis.hget(keys.sale_key(activity_id), "stock") == "1", "its unit is back"


def test_payments_racing_the_deadline_pay_only_before_it(app, client, app_redis):
    activity_id = open_sale(app, 2)
    early, late = make_buyers(app, 2, prefix="race")
    window = timedelta(seconds=app.config["SECKILL_PAY_TIMEOUT"])
    in_time = write_order(
        app, activity_id, early, created_at=utcnow() - window + timedelta(seconds=30)
    )
    too_late = write_order(app, activity_id, late, created_at=utcnow() - window)
    assert (
        as_user(app, client, early).post(f"/api/seckill/orders/{in_time}/pay", json={}).status_code
        == 200
    )
    assert (
        as_user(app, client, late).post(f"/api/seckill/orders/{too_late}/pay", json={}).status_code
        == 409
    )
