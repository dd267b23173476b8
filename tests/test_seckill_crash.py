"""A worker killed with SIGKILL while it writes orders loses none and doubles none."""

import signal
import time

import pytest
from sqlalchemy import func, select

from blueprints.seckill import gate, keys
from exts import db
from models import SeckillOrder
from tests.helpers import wait_for
from tests.seckill_helpers import make_buyers, open_sale, order_count
from tests.workers import start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration

QUEUE = "crash-test"  # only the workers this test starts listen here
RESERVATIONS = 1500


def start_worker(app, name: str):
    env = worker_env(
        app,
        SECKILL_DRAIN_BATCH="10",  # many small batches: the kill lands mid-drain
        SECKILL_CLAIM_AFTER_MS="1000",
    )
    return start_worker_process(env, "-Q", QUEUE, "-n", f"{name}@%h")


def test_kill_9_in_the_middle_of_draining(app, celery_app, app_redis):
    activity_id = open_sale(app, RESERVATIONS)
    buyers = make_buyers(app, RESERVATIONS, prefix="crash")
    app_redis.set(keys.DRAIN_KICKED, "1", ex=600)  # no drain until this test sends one
    with app.app_context():
        accepted = {gate.reserve(activity_id, user_id).seckill_id for user_id in buyers}
    assert len(accepted) == RESERVATIONS and app_redis.xlen(keys.STREAM) == RESERVATIONS

    first = start_worker(app, "doomed")
    second = None
    try:
        celery_app.send_task("seckill.drain_orders", queue=QUEUE)
        wait_for(lambda: order_count(app, activity_id) >= 100, timeout=60, message="draining")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        written_before = order_count(app, activity_id)
        assert written_before < RESERVATIONS, "the kill must land in the middle of the drain"

        time.sleep(1.5)  # the dead worker's claimed entries become stale
        second = start_worker(app, "survivor")
        celery_app.send_task("seckill.drain_orders", queue=QUEUE)
        wait_for(lambda: app_redis.xlen(keys.STREAM) == 0, timeout=120, message="drained")
    finally:
        stop(first, second)

    with app.app_context():
        rows = db.session.execute(
            select(SeckillOrder.reservation_id, func.count())
            .where(SeckillOrder.activity_id == activity_id)
            .group_by(SeckillOrder.reservation_id)
        ).all()
    assert {reservation for reservation, _ in rows} == accepted
    assert {count for _, count in rows} == {1}
    states = {app_redis.hget(keys.result_key(seckill_id), "state") for seckill_id in accepted}
    assert states == {"success"}
    print(f"{written_before} orders were written before the kill, {RESERVATIONS} after the restart")
