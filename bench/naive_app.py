"""The product plus the naive flash-sale design, for bench_seckill's comparison,
as a tutorial would write it: the view checks the stock in the database and
queues one task per order; the task counts the orders, compares, inserts.
`celery -A bench.naive_app:celery worker -Q bench-naive` runs those tasks."""

import uuid

from celery import shared_task
from flask import jsonify
from sqlalchemy import func, select

from app import create_app
from bench.harness import NAIVE_QUEUE
from blueprints.auth.access import session_user_id
from blueprints.core.api import Refused
from exts import csrf, db
from models import SeckillActivity, SeckillOrder
from models.types import utcnow


def _sold(activity_id: int) -> int:
    query = select(func.count()).where(SeckillOrder.activity_id == activity_id)
    return db.session.scalar(query) or 0


@shared_task(name="bench.naive_order")
def naive_order(activity_id: int, user_id: int) -> None:
    """One order, if the count says a unit is left: check-then-act, no lock."""
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None or _sold(activity_id) >= sale.total_stock:
        return
    now = utcnow()
    db.session.add(
        SeckillOrder(activity_id=activity_id, user_id=user_id, reservation_id=str(uuid.uuid4()),
                     status="pending_payment", amount_cents=sale.price_cents,
                     reserved_at=now, created_at=now)
    )  # fmt: skip
    db.session.commit()


app = create_app()
celery = app.extensions["celery"]


@app.post("/bench/naive/<int:activity_id>")
@csrf.exempt  # JSON only, like the product's /api
def naive_buy(activity_id: int):
    user_id = session_user_id()
    if user_id is None:
        raise Refused("not_logged_in", "Log in to buy.")
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None or _sold(activity_id) >= sale.total_stock:
        raise Refused("sold_out", "Sold out.")
    result = naive_order.apply_async((activity_id, user_id), queue=NAIVE_QUEUE)
    return jsonify(seckill_id=result.id), 202
