"""Flash sales: preloading into Redis, the gate, the order pipeline, payment and timeouts.

The life of a purchase:
1. ``reserve`` runs gate.lua: window, earlier purchase, stock; then it takes a
   unit, records the buyer and appends the reservation to a Redis stream, all
   at once. Nothing else is touched: no database, no broker (the first
   reservation after a quiet spell asks for one drain task).
2. ``drain`` (task ``seckill.drain_orders``) reads the stream in batches as a
   consumer group, writes the orders with one INSERT per batch that skips
   reservations already written, records each result, then acknowledges and
   deletes the entries. A drainer killed mid-batch leaves its entries pending;
   the next drain claims them and writes nothing twice.
3. ``pay`` marks an order paid; ``cancel_unpaid`` (a delayed task, and the
   reconciliation as a safety net) cancels it after SECKILL_PAY_TIMEOUT and
   puts its unit back on sale, once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis as redis_lib
from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.auth.sessions import sessions_key
from blueprints.caching.local import CHANNEL, local_copies
from exts import db, redis
from models import SeckillActivity, SeckillOrder
from models.types import utcnow
from tasks import queue_or_log

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STREAM = "seckill:v1:reservations"
GROUP = "order-writers"
DRAIN_KICKED = "seckill:v1:drain:kicked"


def sale_key(activity_id: int) -> str:
    return f"seckill:v1:sale:{activity_id}"


def buyers_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:buyers"


def returned_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:returned"


def result_key(seckill_id: str) -> str:
    return f"seckill:v1:result:{seckill_id}"


def sold_out_flag(activity_id: int) -> str:
    """The name under which web processes remember a sold-out sale (caching/local.py)."""
    return f"seckill:sold-out:{activity_id}"


def _script(name: str):
    scripts = current_app.extensions.setdefault("seckill_scripts", {})
    if name not in scripts:
        scripts[name] = redis.client.register_script((HERE / f"{name}.lua").read_text())
    return scripts[name]


# Preloading -------------------------------------------------------------------


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


def preload(activity: SeckillActivity) -> int:
    """Load ``activity`` into Redis (idempotent, never resets stock); its stock there."""
    keys = [sale_key(activity.id), buyers_key(activity.id), returned_key(activity.id)]
    expire_at = int(activity.ends_at.timestamp() + 2 * 86400)  # results and buyers outlive the sale
    args = [
        max(0, activity.total_stock - sold_count(activity.id)),
        activity.total_stock,
        activity.starts_at.timestamp(),
        activity.ends_at.timestamp(),
        activity.status,
        activity.price_cents,
        expire_at,
    ]
    stock = _script("preload")(keys=keys, args=args)
    if stock > 0:
        allow_sales_again(activity.id)
    return stock


def preload_today(now: datetime | None = None) -> list[int]:
    """Load every sale that runs today (in TIMEZONE); their ids."""
    start, end = local_day(now)
    query = select(SeckillActivity).where(
        SeckillActivity.starts_at < end, SeckillActivity.ends_at > start
    )
    loaded = []
    for activity in db.session.scalars(query):
        preload(activity)
        loaded.append(activity.id)
    return loaded


def adjust_stock(activity: SeckillActivity, added: int) -> None:
    """``added`` more (or, before opening, fewer) units; Redis follows if the sale is loaded."""
    if added and _script("adjust_stock")(keys=[sale_key(activity.id)], args=[added]) > 0:
        allow_sales_again(activity.id)


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
        with redis.pipeline(transaction=False) as pipe:
            for activity_id in ids:
                pipe.hget(sale_key(activity_id), "stock")
                if with_drift:
                    pipe.get(drift_key(activity_id))
            values = pipe.execute()
    except redis_lib.RedisError:
        return dict.fromkeys(ids), {}
    stock = {i: None if v is None else int(v) for i, v in zip(ids, values[::step], strict=True)}
    drifts = values[1::step] if with_drift else []
    drift = {i: int(v) for i, v in zip(ids, drifts, strict=False) if v is not None}
    return stock, drift


# The gate -----------------------------------------------------------------------


@dataclass
class Verdict:
    outcome: str  # ok, not_loaded, logged_out, closed, not_started, duplicate, sold_out, busy
    seckill_id: str | None = None
    starts_at: float | None = None
    left: int | None = None


def known_sold_out(activity_id: int) -> bool:
    """This process saw the sale sold out, and no unit came back since."""
    return local_copies(redis.client).get(sold_out_flag(activity_id)) is not None


def _remember_sold_out(activity_id: int, epoch: int) -> None:
    local_copies(redis.client).put(sold_out_flag(activity_id), "1", time.time() + 3600, epoch)


def allow_sales_again(activity_id: int) -> None:
    """Units came back: every web process forgets that the sale was sold out."""
    redis.publish(CHANNEL, sold_out_flag(activity_id))


def reserve(activity_id: int, user_id: int, session_id: str | None = None) -> Verdict:
    """Run the gate for ``user_id``; with ``session_id``, only while that login
    session is live (see blueprints/auth/sessions.py)."""
    config = current_app.config
    local = local_copies(redis.client)
    epoch = local.epoch
    seckill_id = str(uuid.uuid4())
    outcome, *rest = _script("gate")(
        keys=[
            sale_key(activity_id),
            buyers_key(activity_id),
            STREAM,
            result_key(seckill_id),
            DRAIN_KICKED,
            sessions_key(user_id),
        ],
        args=[
            user_id,
            seckill_id,
            time.time(),
            config["SECKILL_RESULT_TTL"],
            activity_id,
            config["SECKILL_MAX_PENDING"],
            session_id or "",
        ],
    )
    if outcome == "ok":
        left, kick = int(rest[0]), rest[1] == 1
        if left == 0:
            _remember_sold_out(activity_id, epoch)
        if kick:
            _ask_for_drain()
        return Verdict("ok", seckill_id=seckill_id, left=left)
    if outcome == "sold_out":
        _remember_sold_out(activity_id, epoch)
    if outcome == "duplicate":
        return Verdict(outcome, seckill_id=rest[0])
    if outcome == "not_started":
        return Verdict(outcome, starts_at=float(rest[0]))
    return Verdict(outcome)


def _ask_for_drain() -> None:
    from blueprints.seckill import tasks

    if not queue_or_log(tasks.drain_orders):  # the reservation waits for the reconciliation
        redis.delete(DRAIN_KICKED)  # so the next reservation asks again


# Results --------------------------------------------------------------------------

PAYMENT_TIMED_OUT = "The order was not paid in time and was cancelled."
RESULT_CODES = {
    "success": (100, "Your order is placed."),
    "failed": (101, "This purchase did not go through."),
    "queued": (102, "You are in the queue."),
    "processing": (103, "Your order is being written."),
    "error": (104, "Something went wrong on our side; we are on it."),
}


def result_for(seckill_id: str, user_id: int) -> dict | None:
    """The result a buyer polls for, or None if there is none for this user."""
    if len(seckill_id) > 36:
        return None
    result = redis.hgetall(result_key(seckill_id))
    if result:
        if result.get("user") != str(user_id):
            return None
        code, message = RESULT_CODES[result["state"]]
        body = {"code": code, "message": result.get("message") or message}
        if result.get("order_id"):
            body["order_id"] = int(result["order_id"])
        return body
    # The Redis result expired or was lost: the order itself still says how it went.
    order = db.session.scalar(select(SeckillOrder).where(SeckillOrder.reservation_id == seckill_id))
    if order is None or order.user_id != user_id:
        return None
    if order.status == "cancelled":
        return {"code": 101, "message": PAYMENT_TIMED_OUT, "order_id": order.id}
    return {"code": 100, "message": RESULT_CODES["success"][1], "order_id": order.id}


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
        return {"seckill_id": order.reservation_id, "order": order.to_json()}
    seckill_id = redis.hget(buyers_key(activity_id), str(user_id))
    return {"seckill_id": seckill_id, "order": None} if seckill_id else None


# Writing orders -------------------------------------------------------------------


def _consumer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _ensure_group() -> None:
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis_lib.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def drain(limit: int, batch: int, stale_after_ms: int = 30_000) -> int:
    """Write the orders of up to about ``limit`` reservations; how many were handled.

    Entries a killed drainer left pending for ``stale_after_ms`` are claimed first.
    """
    redis.delete(DRAIN_KICKED)  # from now on a new reservation asks again
    _ensure_group()
    consumer = _consumer()
    handled = 0
    start = "0-0"
    while handled < limit:  # entries that other drainers left behind
        reply = redis.xautoclaim(
            STREAM, GROUP, consumer, min_idle_time=stale_after_ms, start_id=start, count=batch
        )
        start, claimed = reply[0], reply[1]  # Redis 7 adds a third item, 6.2 does not
        handled += write_orders(claimed)
        if start == "0-0":
            break
    while handled < limit:
        entries = redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=batch)
        if not entries:
            break
        handled += write_orders(entries[0][1])
    return handled


def write_orders(entries: list) -> int:
    """Orders for stream entries [(id, fields)], each written once however often it comes."""
    gone = [entry_id for entry_id, fields in entries if not fields]  # deleted while pending
    if gone:
        redis.xack(STREAM, GROUP, *gone)
    entries = [(entry_id, fields) for entry_id, fields in entries if fields]
    if not entries:
        return len(gone)
    with redis.pipeline(transaction=False) as pipe:
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
    with redis.pipeline(transaction=False) as pipe:
        for entry_id, fields in entries:
            key = result_key(fields["seckill_id"])
            order_id = written.get(fields["seckill_id"])
            if order_id is not None:
                pipe.hset(key, mapping={"state": "success", "order_id": order_id})
            else:
                if fields["seckill_id"] in broken:
                    pipe.hset(key, "state", "error")
                else:  # the buyer already has an order for this sale (Redis lost its buyers)
                    message = "You already bought one."
                    pipe.hset(key, mapping={"state": "failed", "message": message})
                _return_unit(pipe, int(fields["activity"]), fields["seckill_id"])
            pipe.expire(key, ttl)
            pipe.xack(STREAM, GROUP, entry_id)
            pipe.xdel(STREAM, entry_id)
        pipe.execute()

    if written:
        from blueprints.seckill import tasks

        # One delayed task per batch cancels the orders still unpaid by then.
        due_at = time.time() + current_app.config["SECKILL_PAY_TIMEOUT"]
        tasks.schedule_cancel(sorted(written.values()), due_at)
    return len(entries)


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


def _return_unit(pipe, activity_id: int, reservation_id: str) -> None:
    keys = [sale_key(activity_id), returned_key(activity_id)]
    _script("return_unit")(keys=keys, args=[reservation_id], client=pipe)


# Payment and timeouts -------------------------------------------------------------


class PaymentRefused(Exception):
    pass


def pay(order: SeckillOrder) -> SeckillOrder:
    """Mark ``order`` paid (a stand-in for a payment provider). Paying twice is fine."""
    paid = db.session.execute(
        update(SeckillOrder)
        .where(SeckillOrder.id == order.id, SeckillOrder.status == "pending_payment")
        .values(status="paid", paid_at=utcnow())
    )
    db.session.commit()
    db.session.refresh(order)
    if paid.rowcount == 0 and order.status != "paid":
        raise PaymentRefused(PAYMENT_TIMED_OUT)
    return order


def cancel_unpaid(order_ids: list[int]) -> int:
    """Cancel those of ``order_ids`` still unpaid and put their units back; how many.

    Safe to run twice: the database changes each order once, and a unit goes
    back at most once per order (return_unit.lua remembers it).
    """
    if not order_ids:
        return 0
    changed = db.session.execute(
        update(SeckillOrder)
        .where(SeckillOrder.id.in_(order_ids), SeckillOrder.status == "pending_payment")
        .values(status="cancelled", cancelled_at=utcnow())
    ).rowcount
    db.session.commit()
    cancelled = db.session.execute(
        select(SeckillOrder.activity_id, SeckillOrder.reservation_id).where(
            SeckillOrder.id.in_(order_ids), SeckillOrder.status == "cancelled"
        )
    ).all()
    ttl = current_app.config["SECKILL_RESULT_TTL"]
    with redis.pipeline(transaction=False) as pipe:
        for activity_id, reservation_id in cancelled:
            _return_unit(pipe, activity_id, reservation_id)
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


# Reconciliation -------------------------------------------------------------------


def drift_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:drift"


def pending_by_sale() -> dict[int, int]:
    """Reservations in the stream not yet written, per sale."""
    counts: dict[int, int] = {}
    for _, fields in redis.xrange(STREAM):
        counts[int(fields["activity"])] = counts.get(int(fields["activity"]), 0) + 1
    return counts


def stock_drift(activity_ids: Iterable[int]) -> dict[int, int]:
    """Per loaded sale: Redis stock + pending + written orders - total (0 when they agree)."""
    drift = {}
    pending = pending_by_sale()
    for activity_id in activity_ids:
        sale = redis.hmget(sale_key(activity_id), "stock", "total")
        if sale[0] is None:
            continue
        held = int(sale[0]) + pending.get(activity_id, 0) + sold_count(activity_id)
        drift[activity_id] = held - int(sale[1])
    return drift
