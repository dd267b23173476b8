"""Sales in Redis: today's sales preloaded, stock adjusted, units returned, and
the sold-out flag each web process keeps so losers cost no round trip."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import redis
from flask import current_app
from sqlalchemy import func, select

from blueprints.core.local_copies import CHANNEL, local_copies
from blueprints.core.lua import script
from blueprints.seckill.keys import buyers_key, drift_key, returned_key, sale_key, sold_out_flag
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder
from models.types import utcnow


def lua(name: str):
    return script(redis_client.current, __package__, name)


def local_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Today in TIMEZONE, as a UTC [start, end)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    local_now = (now or utcnow()).astimezone(zone)
    start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def runs_today(activity: SeckillActivity, now: datetime | None = None) -> bool:
    start, end = local_day(now)
    return activity.starts_at < end and activity.ends_at > start


def sold_count(activity_id: int) -> int:
    """Orders that hold a unit: written and not cancelled."""
    query = select(func.count()).where(
        SeckillOrder.activity_id == activity_id, SeckillOrder.status != "cancelled"
    )
    return db.session.scalar(query) or 0


def keys_expire_at(activity: SeckillActivity) -> int:
    """When a sale's keys go: two days after it ends (results and buyers outlive it)."""
    return int(activity.ends_at.timestamp() + 2 * 86400)


def preload(activity: SeckillActivity) -> int:
    """Load ``activity`` into Redis (idempotent, never resets stock); its stock there."""
    keys = [sale_key(activity.id), buyers_key(activity.id), returned_key(activity.id)]
    expire_at = keys_expire_at(activity)
    args = [
        max(0, activity.total_stock - sold_count(activity.id)),
        activity.total_stock,
        activity.starts_at.timestamp(),
        activity.ends_at.timestamp(),
        activity.status,
        activity.price_cents,
        expire_at,
    ]
    stock = lua("preload")(keys=keys, args=args)
    if stock > 0:
        allow_sales_again(activity.id)
    return stock


def sales_today(now: datetime | None = None) -> list[SeckillActivity]:
    """Every sale that runs today (in TIMEZONE)."""
    start, end = local_day(now)
    query = select(SeckillActivity).where(
        SeckillActivity.starts_at < end, SeckillActivity.ends_at > start
    )
    return list(db.session.scalars(query))


def preload_today(now: datetime | None = None) -> list[int]:
    """Load every sale that runs today (in TIMEZONE); their ids."""
    loaded = []
    for activity in sales_today(now):
        preload(activity)
        loaded.append(activity.id)
    return loaded


class BelowTaken(Exception):
    """A total lower than the units already taken (bought or waiting to be written)."""

    def __init__(self, taken: int) -> None:
        super().__init__(taken)
        self.taken = taken


def set_total(activity: SeckillActivity) -> int | None:
    """Bring the sale's total in Redis to ``activity.total_stock``, keeping the
    units already taken; how far the total moved (None if the sale is not
    loaded). Setting the same total again changes nothing, so a repeated or
    concurrent edit cannot add its change twice; callers hold the sale's row
    lock (``editing.editing``), so Redis follows the database's order of edits."""
    reply = lua("set_total")(keys=[sale_key(activity.id)], args=[activity.total_stock])
    if reply[0] == "below_taken":
        raise BelowTaken(int(reply[1]))
    if reply[0] == "not_loaded":
        return None
    if int(reply[1]) > 0 and int(reply[2]) > 0:
        allow_sales_again(activity.id)
    return int(reply[2])


def take_back(activity_id: int, units: int) -> int:
    """Take up to ``units`` off sale; how many were (no more than are left)."""
    return lua("take_back")(keys=[sale_key(activity_id)], args=[units])


def return_unit(pipe, activity_id: int, reservation_id: str) -> None:
    keys = [sale_key(activity_id), returned_key(activity_id)]
    lua("return_unit")(keys=keys, args=[reservation_id], client=pipe)


def live_stock(activity_ids: Iterable[int]) -> dict[int, int | None]:
    """Stock left in Redis per sale; None for sales not loaded (or Redis down)."""
    return live_figures(activity_ids, with_drift=False)[0]


def live_figures(
    activity_ids: Iterable[int], with_drift: bool = True
) -> tuple[dict[int, int | None], dict[int, int]]:
    """Stock left per sale (as ``live_stock``) and the drift the last
    reconciliation reported (absent when none), in one round trip. The sale
    pages poll stock only, so they skip the drift."""
    ids = list(activity_ids)
    step = 2 if with_drift else 1
    try:
        with redis_client.pipeline(transaction=False) as pipe:
            for activity_id in ids:
                pipe.hget(sale_key(activity_id), "stock")
                if with_drift:
                    pipe.get(drift_key(activity_id))
            values = pipe.execute()
    except redis.RedisError:
        return dict.fromkeys(ids), {}
    stock = {i: None if v is None else int(v) for i, v in zip(ids, values[::step], strict=True)}
    drifts = values[1::step] if with_drift else []
    drift = {i: int(v) for i, v in zip(ids, drifts, strict=False) if v is not None}
    return stock, drift


def known_sold_out(activity_id: int) -> bool:
    """This process saw the sale sold out, and no unit came back since."""
    return local_copies(redis_client.current).get(sold_out_flag(activity_id)) is not None


def remember_sold_out(activity_id: int, epoch: int) -> None:
    flags = local_copies(redis_client.current)
    flags.put(sold_out_flag(activity_id), "1", time.time() + 3600, epoch)


def allow_sales_again(activity_id: int) -> None:
    """Units came back: every web process forgets that the sale was sold out."""
    redis_client.publish(CHANNEL, sold_out_flag(activity_id))
