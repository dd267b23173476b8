"""RabbitMQ stopped and started in the middle of a drain of 1,000 orders.

On RabbitMQ the product declares quorum queues and publishes with confirms
(blueprints/servers.py, on_rabbitmq): the drain the restart interrupts comes back (its
message was not acknowledged), no order is lost or written twice, and the
payment-timeout tasks queued before the restart (waiting in RabbitMQ's
delayed-delivery queues) still cancel every unpaid order.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from blueprints.seckill import gate, keys
from exts import db
from models import SeckillOrder
from tests.helpers import wait_for
from tests.rabbitmq import RabbitNode
from tests.seckill_helpers import make_buyers, open_sale, order_count
from tests.workers import sender, start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration

ORDERS = 1000
PAY_TIMEOUT = 25  # seconds: the cancel tasks wait through the restart


@pytest.fixture
def rabbitmq():
    node = RabbitNode()
    node.start()
    yield node
    node.remove()


def test_a_rabbitmq_restart_mid_drain_loses_no_order_and_no_task(app, app_redis, rabbitmq):
    sale_id = open_sale(app, ORDERS)
    buyers = make_buyers(app, ORDERS, prefix="restart")
    app_redis.set(keys.DRAIN_KICKED, "1", ex=600)  # the drain below is the only one
    with app.app_context():
        accepted = {gate.reserve(sale_id, user_id).seckill_id for user_id in buyers}
    assert len(accepted) == ORDERS

    env = worker_env(
        app,
        CELERY_BROKER_URL=rabbitmq.url,
        SECKILL_DRAIN_BATCH="10",  # a hundred batches: the restart lands mid-drain
        SECKILL_CLAIM_AFTER_MS="1000",
        SECKILL_PAY_TIMEOUT=str(PAY_TIMEOUT),
    )
    worker = start_worker_process(env, "-n", "restart@%h")
    client = sender(rabbitmq.url)
    try:
        client.send_task("seckill.drain_orders")
        wait_for(lambda: order_count(app, sale_id) >= 100, timeout=60, message="draining")
        rabbitmq.stop()
        stopped = time.monotonic()
        written_while_down = order_count(app, sale_id)
        rabbitmq.start()
        down = time.monotonic() - stopped
        print(f"\nRabbitMQ was down {down:.1f} s; {written_while_down} orders written before")
        assert written_while_down < ORDERS, "the restart must land in the middle of the drain"

        wait_for(lambda: order_count(app, sale_id) == ORDERS, timeout=120, message="all written")
        with app.app_context():
            rows = db.session.execute(
                select(SeckillOrder.reservation_id, func.count())
                .where(SeckillOrder.activity_id == sale_id)
                .group_by(SeckillOrder.reservation_id)
            ).all()
        assert {reservation for reservation, _ in rows} == accepted, "0 lost"
        assert {count for _, count in rows} == {1}, "0 written twice"

        # Every order's payment timeout was queued once its batch was written,
        # many of them before the restart: each one still comes.
        def cancelled() -> int:
            with app.app_context():
                query = select(func.count()).where(
                    SeckillOrder.activity_id == sale_id, SeckillOrder.status == "cancelled"
                )
                count = db.session.scalar(query)
                db.session.rollback()
                return count

        wait_for(lambda: cancelled() == ORDERS, timeout=PAY_TIMEOUT + 90, message="all cancelled")
    finally:
        stop(worker)
