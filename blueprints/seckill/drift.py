"""Drift: what Redis can still sell against what the database backs, which
the reconciliation reports (and, where Redis could oversell, repairs)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from blueprints.seckill.keys import STREAM, sale_key
from blueprints.seckill.stock import sold_count
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder


def pending_by_sale() -> dict[int, set[str]]:
    """Reservations in the stream not yet deleted (written or not), per sale."""
    pending: dict[int, set[str]] = {}
    for _, fields in redis_client.xrange(STREAM):
        pending.setdefault(int(fields["activity"]), set()).add(fields["seckill_id"])
    return pending


def totals_off(activity_ids: Iterable[int]) -> list[int]:
    """The loaded sales whose total in Redis is not the database's."""
    ids = list(activity_ids)
    with redis_client.pipeline(transaction=False) as pipe:
        for activity_id in ids:
            pipe.hget(sale_key(activity_id), "total")
        in_redis = dict(zip(ids, pipe.execute(), strict=True))
    in_database = _totals(ids)
    return [i for i in ids if in_redis[i] is not None and int(in_redis[i]) != in_database.get(i)]


def _totals(ids: list[int]) -> dict[int, int]:
    """Each sale's total stock, as the database holds it."""
    query = select(SeckillActivity.id, SeckillActivity.total_stock)
    return dict(db.session.execute(query.where(SeckillActivity.id.in_(ids))).all())


def stock_drift(activity_ids: Iterable[int]) -> dict[int, int]:
    """Per loaded sale: stock left in Redis + units taken (reservations
    waiting, orders holding one) - the database's total; 0 when they agree.

    Read in this order: the stream, then the orders, then the stock. A purchase
    or a drain between the reads can then only lower the sum (a unit is seen
    in none of them), never raise it (a reservation both waiting and written
    is counted as its order), so a positive drift means units on sale in
    Redis that the database does not back."""
    pending = pending_by_sale()
    ids = list(activity_ids)
    totals = _totals(ids)
    drift = {}
    for activity_id in ids:
        waiting = pending.get(activity_id, set())
        taken = sold_count(activity_id) + len(waiting) - _ordered(waiting)
        left = redis_client.hget(sale_key(activity_id), "stock")
        if left is not None and activity_id in totals:
            drift[activity_id] = int(left) + taken - totals[activity_id]
    return drift


def _ordered(reservation_ids: set[str]) -> int:
    """How many of these reservations have their order written (whether it
    holds its unit or was cancelled and gave it back)."""
    ids, ordered = sorted(reservation_ids), 0
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start : start + 500]
        query = select(func.count()).where(SeckillOrder.reservation_id.in_(chunk))
        ordered += db.session.scalar(query) or 0
    return ordered
