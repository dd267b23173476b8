"""After a failover: the sales rebuilt from the database before anyone buys again.

Redis replicates asynchronously, so a promoted replica (or a server restarted
from its disk) can lack the last writes before the switch: a decrement whose
order is already written (the unit would sell twice), or a buyer's mark. The
gate therefore answers only on the server whose figures were rebuilt: the
fence key holds that server's run id, which a replica does not share and a
restart changes. Until the fence matches, every sale is paused; the first
process to notice rebuilds them all:

    stock  = total - (orders that hold a unit  ∪  reservations still in the stream)
    buyers = the buyers of every order  ∪  those of the reservations in the stream

The stream is read before the orders, so a reservation written into an order
in between is counted once (by its reservation id), never missed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select

from blueprints.seckill.keys import (
    FENCE,
    REBUILDING,
    STREAM,
    buyers_key,
    returned_key,
    sale_key,
)
from blueprints.seckill.stock import allow_sales_again, keys_expire_at, sales_today
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder

log = logging.getLogger(__name__)

LOCK_SECONDS = 5  # far longer than a rebuild takes; a rebuilder that dies frees it this late


def paused() -> bool:
    """The sales wait for a rebuild on the server that answers now."""
    server, fence = _server_and_fence(redis_client.current)
    return fence != server


def _server_and_fence(client: redis.Redis) -> tuple[str, str | None]:
    """The run id of the server that answers, and the fence it holds."""
    with client.pipeline(transaction=False) as pipe:
        pipe.info("server")
        pipe.get(FENCE)
        info, fence = pipe.execute()
    return info["run_id"], fence


def paused_now() -> bool:
    """For the pages: whether the sales are still paused once this process
    tried to rebuild them. Not when Redis does not answer: that is not a pause."""
    try:
        # A page does not wait for it, nor asks for a drain: the next buyer's
        # reservation kicks one, and the reconciliation drains within a minute.
        return paused() and rebuild(wait=0) is None
    except redis.RedisError:
        return False


@dataclass(frozen=True)
class Reopened:
    """The sales are open again."""

    drain: bool  # reservations wait in the stream: the caller asks for a drain (its kick)


def rebuild(wait: float = 2.0) -> Reopened | None:
    """Rebuild every sale that runs today; None while they stay paused.
    While another process rebuilds, wait up to ``wait`` seconds for it: a
    rebuild takes a fraction of a second, and a rush of buyers should not
    see a pause that short."""
    client = redis_client.current
    token = str(uuid.uuid4())
    deadline = time.monotonic() + wait
    while not _lock(client, token):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    started = time.monotonic()
    try:
        server, fence = _server_and_fence(client)
        if fence == server:
            return Reopened(drain=False)  # rebuilt by another process meanwhile
        rebuilt, in_flight = _rebuild(client, server)
    except Exception:
        log.exception("rebuilding the sales failed; the next buyer or page tries again")
        raise
    finally:
        _unlock(client, token)
    # A new Redis (an empty one, at first start) is routine; another server
    # than the one last rebuilt means a failover or a restart.
    log.log(
        logging.INFO if fence is None else logging.WARNING,
        "Redis server %s: rebuilt %d sales from the database in %.2f s; sales are open again",
        server, len(rebuilt), time.monotonic() - started,
    )  # fmt: skip
    for activity_id in rebuilt:
        allow_sales_again(activity_id)
    return Reopened(drain=in_flight > 0)  # a drain asked for before the switch may be lost


def _lock(client: redis.Redis, token: str) -> bool:
    # Or ours already: redis-py re-sends a SET whose answer a dropped
    # connection lost, and the second one finds the key the first one set.
    return bool(client.set(REBUILDING, token, nx=True, ex=LOCK_SECONDS)) or (
        client.get(REBUILDING) == token
    )


def _unlock(client: redis.Redis, token: str) -> None:
    # Mid-failover a call can fail (a pooled connection, or a sentinel, still
    # on the old master): try again for a moment rather than leave the sales
    # paused until the lock lapses.
    for _ in range(5):
        try:
            if client.get(REBUILDING) == token:
                client.delete(REBUILDING)
            return
        except redis.RedisError:
            time.sleep(0.2)


def _rebuild(client: redis.Redis, server: str) -> tuple[list[int], int]:
    """The sales rebuilt, and the reservations waiting in the stream."""
    entries: Any = client.xrange(STREAM)
    in_flight = {fields["seckill_id"]: fields for _, fields in entries if fields}
    sales = sales_today()
    orders: defaultdict[int, list] = defaultdict(list)  # per sale
    for order in db.session.execute(
        select(
            SeckillOrder.activity_id,
            SeckillOrder.user_id,
            SeckillOrder.reservation_id,
            SeckillOrder.status,
        ).where(SeckillOrder.activity_id.in_([sale.id for sale in sales]))
    ):
        orders[order.activity_id].append(order)
    waiting: defaultdict[int, list] = defaultdict(list)  # per sale, not yet written
    written = {order.reservation_id for sale_orders in orders.values() for order in sale_orders}
    for seckill_id, fields in in_flight.items():
        if seckill_id not in written:
            waiting[int(fields["activity"])].append((fields["user"], seckill_id))
    with client.pipeline(transaction=True) as pipe:  # all sales and the fence at once
        for sale in sales:
            held = {o.reservation_id for o in orders[sale.id] if o.status != "cancelled"}
            held.update(seckill_id for _, seckill_id in waiting[sale.id])
            buyers = {str(o.user_id): o.reservation_id for o in orders[sale.id]}
            buyers.update(waiting[sale.id])
            returned = [o.reservation_id for o in orders[sale.id] if o.status == "cancelled"]
            _write_sale(pipe, sale, max(0, sale.total_stock - len(held)), buyers, returned)
        pipe.set(FENCE, server)
        pipe.execute()
    return [sale.id for sale in sales], len(in_flight)


def _write_sale(pipe, sale: SeckillActivity, stock: int, buyers: dict, returned: list) -> None:
    keys = sale_key(sale.id), buyers_key(sale.id), returned_key(sale.id)
    pipe.delete(keys[0], keys[1])
    pipe.hset(keys[0], mapping={
        "stock": stock, "total": sale.total_stock, "starts_at": sale.starts_at.timestamp(),
        "ends_at": sale.ends_at.timestamp(), "status": sale.status, "price_cents": sale.price_cents,
    })  # fmt: skip
    if buyers:
        pipe.hset(keys[1], mapping=buyers)
    if returned:
        pipe.sadd(keys[2], *returned)  # added to, never replaced: a unit goes back once
    for key in keys:
        pipe.expireat(key, keys_expire_at(sale))
