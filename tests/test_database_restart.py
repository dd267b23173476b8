"""PostgreSQL restarted in the middle of a drain: the orders resume, none lost.

The database is a PostgreSQL server of the test's own (tests/postgres.py),
restarted with a fast shutdown, as a service restart does: the worker's
connections are cut mid-batch, and the drain must pick up where it stopped.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from blueprints.seckill import failover, gate, keys, stock
from config import ROOT
from models import SeckillActivity, SeckillOrder, User
from models.types import utcnow
from tests.helpers import wait_for
from tests.postgres import PostgresNode
from tests.workers import start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration

ORDERS = 1000
QUEUE = "db-restart"  # only the worker this test starts listens here


@pytest.fixture
def postgres():
    node = PostgresNode()
    node.start()
    yield node
    node.remove()


def test_a_postgresql_restart_mid_drain_loses_no_order(app, app_redis, postgres):
    env = worker_env(app, DATABASE_URL=postgres.url, SECKILL_DRAIN_BATCH="10",
                     SECKILL_CLAIM_AFTER_MS="1000")  # fmt: skip
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                   env=env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    engine = sa.create_engine(postgres.url, pool_pre_ping=True)
    now = utcnow()
    sale = SeckillActivity(id=1, title="Restart sale", product="A thing", price_cents=990,
                           total_stock=ORDERS, starts_at=now - timedelta(minutes=1),
                           ends_at=now + timedelta(hours=1), status="active")  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            sa.insert(User),
            [
                {"id": n, "email": f"pg{n}@example.com", "created_at": now}
                for n in range(1, ORDERS + 1)
            ],
        )
        connection.execute(sa.insert(SeckillActivity), [{
            column.key: getattr(sale, column.key) for column in SeckillActivity.__table__.columns
            if getattr(sale, column.key) is not None
        }])  # fmt: skip

    app_redis.set(keys.DRAIN_KICKED, "1", ex=600)  # the drain below is the only one
    with app.app_context():
        failover.rebuild()
        stock.preload(sale)  # the sale lives in the test's own database only
        accepted = {gate.reserve(1, user_id).seckill_id for user_id in range(1, ORDERS + 1)}
    assert len(accepted) == ORDERS

    def written() -> int:
        with engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).select_from(SeckillOrder))

    worker = start_worker_process(env, "-Q", QUEUE, "-n", "db-restart@%h")
    try:
        app.extensions["celery"].send_task("seckill.drain_orders", queue=QUEUE)
        wait_for(lambda: written() >= 100, timeout=60, message="draining")
        postgres.stop()
        stopped = time.monotonic()
        time.sleep(3)  # down long enough for the worker to fail a batch or two
        postgres.start()
        resumed = written()
        print(f"\nPostgreSQL was down {time.monotonic() - stopped:.1f} s with {resumed} orders")
        assert resumed < ORDERS, "the restart must land in the middle of the drain"
        wait_for(lambda: written() == ORDERS, timeout=90, message="the drain resumed")
        print(f"all {ORDERS} written {time.monotonic() - stopped:.1f} s after the stop")
    finally:
        stop(worker)

    with engine.connect() as connection:
        reservations = connection.scalars(sa.select(SeckillOrder.reservation_id)).all()
    assert set(reservations) == accepted and len(reservations) == ORDERS, "0 lost, 0 twice"
    assert app_redis.xlen(keys.STREAM) == 0
    engine.dispose()
