"""Payment and its timeout: an unpaid order is cancelled once, and its unit
goes back on sale once."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from flask import current_app
from sqlalchemy import CursorResult, select, update

from blueprints.core.i18n import N_
from blueprints.seckill.keys import result_key
from blueprints.seckill.stock import allow_sales_again, return_unit
from exts import db, redis_client
from models import SeckillOrder
from models.types import utcnow

log = logging.getLogger(__name__)

PAYMENT_TIMED_OUT = N_("The order was not paid in time and was cancelled.")


class PaymentRefused(Exception):
    pass


def pay(order: SeckillOrder) -> SeckillOrder:
    """Mark ``order`` paid (a stand-in for a payment provider). Paying twice is fine.

    Its deadline holds by the clock, not by the worker's punctuality: the
    statement that marks it paid also checks that its time has not run out,
    and an order whose time ran out is cancelled here and now (its unit goes
    back on sale) even if the delayed cancel has not run yet."""
    window = timedelta(seconds=current_app.config["SECKILL_PAY_TIMEOUT"])
    now = utcnow()
    paid: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(SeckillOrder)
        .where(
            SeckillOrder.id == order.id,
            SeckillOrder.status == "pending_payment",
            SeckillOrder.created_at > now - window,  # pay_by is still ahead
        )
        .values(status="paid", paid_at=now)
    )
    db.session.commit()
    db.session.refresh(order)
    if paid.rowcount == 0 and order.status != "paid":
        if order.status == "pending_payment":
            try:
                cancel_unpaid([order.id])
            except redis.RedisError as error:  # the delayed cancel returns the unit
                log.warning("order %s cancelled, its unit not yet returned: %s", order.id, error)
        raise PaymentRefused(PAYMENT_TIMED_OUT)
    return order


def cancel_unpaid(order_ids: list[int]) -> int:
    """Cancel those of ``order_ids`` still unpaid and put their units back; how many.

    Safe to run twice: the database changes each order once, and a unit goes
    back at most once per order (return_unit.lua remembers it).
    """
    if not order_ids:
        return 0
    cancelling: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(SeckillOrder)
        .where(SeckillOrder.id.in_(order_ids), SeckillOrder.status == "pending_payment")
        .values(status="cancelled", cancelled_at=utcnow())
    )
    changed = cancelling.rowcount
    db.session.commit()
    cancelled = db.session.execute(
        select(SeckillOrder.activity_id, SeckillOrder.reservation_id).where(
            SeckillOrder.id.in_(order_ids), SeckillOrder.status == "cancelled"
        )
    ).all()
    ttl = current_app.config["SECKILL_RESULT_TTL"]
    with redis_client.pipeline(transaction=False) as pipe:
        for activity_id, reservation_id in cancelled:
            return_unit(pipe, activity_id, reservation_id)
            key = result_key(reservation_id)
            pipe.hset(key, mapping={"state": "failed", "message": PAYMENT_TIMED_OUT})
            pipe.expire(key, ttl)
        pipe.execute()
    for activity_id in {activity_id for activity_id, _ in cancelled}:
        allow_sales_again(activity_id)
    return changed


def overdue_unpaid() -> list[int]:
    """Unpaid orders older than the payment window (their delayed task was lost)."""
    timeout = current_app.config["SECKILL_PAY_TIMEOUT"]
    cutoff = utcnow() - timedelta(seconds=timeout + 60)
    query = select(SeckillOrder.id).where(
        SeckillOrder.status == "pending_payment", SeckillOrder.created_at < cutoff
    )
    return list(db.session.scalars(query))
