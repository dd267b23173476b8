"""The sale catalogue shoppers see: snapshots of the sales (a second old at
most) with their stock, and each sale's state now."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from blueprints.ops import metrics
from blueprints.seckill import failover, stock
from blueprints.seckill.keys import sale_snapshot_key, sales_snapshot_key
from blueprints.seckill.schemas import SaleSchema
from exts import db, snapshots
from models import SeckillActivity

SALE_SNAPSHOT_SECONDS = 1
SALE = SaleSchema()  # built once: the snapshots are hot

# Every open sale page polls these every 2 s: they are served from a snapshot
# (Flask-Caching, SALE_SNAPSHOT_SECONDS old at most) so a rush of pages costs
# each process one database and Redis read a second. The state and the server
# time are computed per request: countdowns stay exact.


def _snapshot(key: str, load: Callable[[], Any]) -> Any:
    # snapshots.get/set rather than @snapshots.memoize, whose key (built with
    # inspect.signature on every call) cost more than the rest of the request.
    # The entry carries its own deadline: the backends round expiry to whole
    # seconds, so an entry could otherwise live a tenth of a second.
    now = time.time()
    entry = snapshots.get(key)
    kind = "hit"
    if entry is None or entry[0] <= now:
        entry = (now + SALE_SNAPSHOT_SECONDS, load())
        snapshots.set(key, entry, timeout=SALE_SNAPSHOT_SECONDS + 1)
        kind = "miss"
    metrics.count("shop_cache_answers_total", cache="sale_snapshot", kind=kind)
    return entry[1]


def sale_snapshot(activity_id: int) -> dict | None:
    def load() -> dict | None:
        sale = db.session.get(SeckillActivity, activity_id)
        if sale is None:
            return None
        left = stock.live_stock([sale.id])[sale.id]
        return {**SALE.dump(sale), "stock_left": left, "paused": failover.paused_now()}

    return _snapshot(sale_snapshot_key(activity_id), load)


def sales_snapshot(day_start: datetime) -> list[dict]:
    """Sales that end after ``day_start``: today's and upcoming ones, the first 50."""
    return _snapshot(sales_snapshot_key(day_start.isoformat()), lambda: _load_sales(day_start))


def _load_sales(day_start: datetime) -> list[dict]:
    query = (
        select(SeckillActivity)
        .where(SeckillActivity.ends_at > day_start)
        .order_by(SeckillActivity.starts_at)
        .limit(50)
    )
    sales = list(db.session.scalars(query))
    left = stock.live_stock(sale.id for sale in sales)
    paused = failover.paused_now() if sales else False
    return [{**SALE.dump(sale), "stock_left": left[sale.id], "paused": paused} for sale in sales]


def public(snapshot: dict, now: datetime) -> dict:
    """A sale as pages see it: its state now, and its stock (all of it before it opens)."""
    starts_at = datetime.fromisoformat(snapshot["starts_at"])
    ends_at = datetime.fromisoformat(snapshot["ends_at"])
    left = snapshot["stock_left"]
    if left is None and now < starts_at:
        left = snapshot["total_stock"]
    if snapshot["status"] == "closed":
        state = "closed"
    elif now < starts_at:
        state = "upcoming"
    elif now >= ends_at:
        state = "ended"
    elif snapshot.get("paused"):  # the admin overview does not ask
        state = "paused"  # for a moment, after a Redis failover (failover.py)
    else:
        state = "sold_out" if left == 0 else "open"
    return {**snapshot, "stock_left": left, "state": state}
