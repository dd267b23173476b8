"""Drift: stock in Redis against the orders, which the reconciliation reports."""

from __future__ import annotations

from collections.abc import Iterable

from blueprints.seckill.keys import STREAM, sale_key
from blueprints.seckill.stock import sold_count
from exts import redis_client


def pending_by_sale() -> dict[int, int]:
    """Reservations in the stream not yet written, per sale."""
    counts: dict[int, int] = {}
    for _, fields in redis_client.xrange(STREAM):
        counts[int(fields["activity"])] = counts.get(int(fields["activity"]), 0) + 1
    return counts


def stock_drift(activity_ids: Iterable[int]) -> dict[int, int]:
    """Per loaded sale: Redis stock + pending + written orders - total (0 when they agree)."""
    drift = {}
    pending = pending_by_sale()
    for activity_id in activity_ids:
        sale = redis_client.hmget(sale_key(activity_id), "stock", "total")
        if sale[0] is None:
            continue
        held = int(sale[0]) + pending.get(activity_id, 0) + sold_count(activity_id)
        drift[activity_id] = held - int(sale[1])
    return drift
