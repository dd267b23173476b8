"""Orders: reservations drained from the stream into the database in batches,
each written once however often it is read, and the results buyers poll."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from blueprints.core.i18n import N_
from blueprints.core.streams import Entry, StreamConsumer
from blueprints.seckill.keys import DRAIN_KICKED, GROUP, STREAM, buyers_key, result_key
from blueprints.seckill.payment import PAYMENT_TIMED_OUT
from blueprints.seckill.stock import return_unit
from exts import db, redis_client
from models import SeckillOrder
from models.types import utcnow

log = logging.getLogger(__name__)


RESULT_CODES = {
    "success": (100, lazy_gettext("Your order is placed.")),
    "failed": (101, lazy_gettext("This purchase did not go through.")),
    "queued": (102, lazy_gettext("You are in the queue.")),
    "processing": (103, lazy_gettext("Your order is being written.")),
    "error": (104, lazy_gettext("Something went wrong on our side. We are on it: try again soon.")),
}
ALREADY_BOUGHT = N_("You already bought one.")


def result_for(seckill_id: str, user_id: int) -> dict | None:
    """The result a buyer polls for, or None if there is none for this user."""
    if len(seckill_id) > 36:
        return None
    result = redis_client.hgetall(result_key(seckill_id))
    if result:
        if result.get("user") != str(user_id):
            return None
        code, message = RESULT_CODES[result["state"]]
        stored = result.get("message")  # a failure's reason, in English
        body = {"code": code, "message": gettext(stored) if stored else str(message)}
        if result.get("order_id"):
            body["order_id"] = int(result["order_id"])
        return body
    # The Redis result expired or was lost: the order itself still says how it went.
    order = db.session.scalar(select(SeckillOrder).where(SeckillOrder.reservation_id == seckill_id))
    if order is None or order.user_id != user_id:
        return None
    if order.status == "cancelled":
        return {"code": 101, "message": gettext(PAYMENT_TIMED_OUT), "order_id": order.id}
    return {"code": 100, "message": str(RESULT_CODES["success"][1]), "order_id": order.id}


def purchase_of(activity_id: int, user_id: int) -> dict | None:
    """The user's purchase in a sale, for any of their devices: the order once
    written, else the reservation the gate holds for them; None if none."""
    order = db.session.scalar(
        select(SeckillOrder)
        .where(SeckillOrder.activity_id == activity_id, SeckillOrder.user_id == user_id)
        .order_by(SeckillOrder.id.desc())
        .limit(1)
    )
    if order is not None:
        return {"seckill_id": order.reservation_id, "order": order}
    seckill_id = redis_client.hget(buyers_key(activity_id), str(user_id))
    return {"seckill_id": seckill_id, "order": None} if seckill_id else None


def drain(
    limit: int, batch: int, stale_after_ms: int, on_written: Callable[[list[int]], None]
) -> int:
    """Write the orders of up to about ``limit`` reservations; how many were
    handled. Reservations a killed drainer left pending for ``stale_after_ms``
    come first. ``on_written`` gets each batch's order ids once committed (the
    task schedules their payment timeout)."""
    reservations = StreamConsumer(redis_client.current, STREAM, GROUP, DRAIN_KICKED)
    return reservations.drain(
        lambda entries: on_written(write_orders(entries)), limit, batch, stale_after_ms
    )


def write_orders(entries: list[Entry]) -> list[int]:
    """Orders for stream entries, each written once however often it comes;
    the ids of those orders (also of orders an earlier try wrote)."""
    with redis_client.pipeline(transaction=False) as pipe:
        for _, fields in entries:
            pipe.hset(result_key(fields["seckill_id"]), "state", "processing")
        pipe.execute()

    now = utcnow()
    rows = [
        {
            "activity_id": int(fields["activity"]),
            "user_id": int(fields["user"]),
            "reservation_id": fields["seckill_id"],
            "status": "pending_payment",
            "amount_cents": int(fields["price_cents"]),
            "reserved_at": datetime.fromtimestamp(float(fields["at"]), UTC),
            "created_at": now,
        }
        for _, fields in entries
    ]
    broken = set()  # reservations no retry can write (say, the user is gone)
    try:
        _insert_skipping_written(rows)
        db.session.commit()
    except IntegrityError:  # find the culprits one by one
        db.session.rollback()
        for row in rows:
            try:
                _insert_skipping_written([row])
                db.session.commit()
            except IntegrityError as error:
                db.session.rollback()
                broken.add(row["reservation_id"])
                log.error("reservation %s cannot become an order: %s", row["reservation_id"], error)

    reservation_ids = [row["reservation_id"] for row in rows]
    written = dict(
        db.session.execute(
            select(SeckillOrder.reservation_id, SeckillOrder.id).where(
                SeckillOrder.reservation_id.in_(reservation_ids)
            )
        ).all()
    )
    ttl = current_app.config["SECKILL_RESULT_TTL"]
    with redis_client.pipeline(transaction=False) as pipe:
        for _, fields in entries:
            key = result_key(fields["seckill_id"])
            order_id = written.get(fields["seckill_id"])
            if order_id is not None:
                pipe.hset(key, mapping={"state": "success", "order_id": order_id})
            else:
                if fields["seckill_id"] in broken:
                    pipe.hset(key, "state", "error")
                else:  # the buyer already has an order for this sale (Redis lost its buyers)
                    pipe.hset(key, mapping={"state": "failed", "message": ALREADY_BOUGHT})
                return_unit(pipe, int(fields["activity"]), fields["seckill_id"])
            pipe.expire(key, ttl)
        pipe.execute()
    return sorted(written.values())


def _insert_skipping_written(rows: list[dict]) -> None:
    """INSERT that skips rows whose reservation (or buyer) already has an order."""
    dialect = db.engine.dialect.name
    statement = insert(SeckillOrder)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(SeckillOrder).on_conflict_do_nothing()
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(SeckillOrder).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        statement = statement.prefix_with("IGNORE")
    db.session.execute(statement, rows)
