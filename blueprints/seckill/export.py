"""A sale's orders as CSV, written by a task into Redis, where every web process
can serve it and from where it expires by itself (EXPORT_TTL)."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from blueprints.seckill.keys import export_key
from exts import db, redis_client
from models import SeckillOrder, User
from models.types import utcnow

BATCH = 5000
CHUNK = 1 << 20  # bytes read from Redis per download step
COLUMNS = ("order_id", "reservation_id", "user_id", "buyer", "status", "amount",
           "reserved_at", "created_at", "paid_at", "cancelled_at")  # fmt: skip
# A spreadsheet runs a cell that starts with one of these as a formula
# (OWASP, "CSV injection"): such cells get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def download_path(sale_id: int, token: str) -> str:
    return f"/admin/sales/{sale_id}/exports/{token}.csv"


def count_orders(sale_id: int) -> int:
    query = select(func.count()).where(SeckillOrder.activity_id == sale_id)
    return db.session.scalar(query) or 0


def write_csv(sale_id: int, on_rows: Callable[[int], None]) -> dict:
    """Write the sale's orders to Redis, calling ``on_rows(written)`` after each
    batch; where to download them, how many, and until when."""
    ttl = current_app.config["EXPORT_TTL"]
    token = secrets.token_urlsafe(16)
    key = export_key(sale_id, token)
    partial = f"{key}:partial"  # renamed once complete: a download never gets half a file
    written = 0
    redis_client.set(partial, _line(COLUMNS), ex=ttl)
    for rows in _batches(sale_id):
        text = "".join(_line(row) for row in rows)
        pipe = redis_client.pipeline(transaction=False)
        pipe.append(partial, text)
        pipe.expire(partial, ttl)
        pipe.execute()
        written += len(rows)
        on_rows(written)
    redis_client.rename(partial, key)
    expires_at = utcnow() + timedelta(seconds=ttl)
    return {"download": download_path(sale_id, token), "rows": written,
            "expires_at": expires_at.isoformat()}  # fmt: skip


def _batches(sale_id: int) -> Iterator[list[tuple]]:
    """The orders with their buyer, BATCH at a time, by id (keyset: no OFFSET)."""
    after = 0
    while True:
        query = (
            select(
                SeckillOrder.id,
                SeckillOrder.reservation_id,
                SeckillOrder.user_id,
                func.coalesce(User.email, User.phone),
                SeckillOrder.status,
                SeckillOrder.amount_cents,
                SeckillOrder.reserved_at,
                SeckillOrder.created_at,
                SeckillOrder.paid_at,
                SeckillOrder.cancelled_at,
            )  # fmt: skip
            .join(User, User.id == SeckillOrder.user_id)
            .where(SeckillOrder.activity_id == sale_id, SeckillOrder.id > after)
            .order_by(SeckillOrder.id)
            .limit(BATCH)
        )
        rows = db.session.execute(query).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [_cells(row) for row in rows]


def _cells(row) -> tuple:
    order_id, reservation, user_id, buyer, status, cents, *times = row
    return (order_id, reservation, user_id, buyer, status, f"{cents / 100:.2f}",
            *(_iso(moment) for moment in times))  # fmt: skip


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _line(cells) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(
        f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell
        for cell in cells
    )
    return out.getvalue()


def read_chunks(sale_id: int, token: str) -> Iterator[bytes] | None:
    """The file in CHUNK-sized pieces, or None if it does not exist (or expired)."""
    key = export_key(sale_id, token)
    client = redis_client.current  # the generator outlives the app context
    size = int(client.strlen(key))  # type: ignore[arg-type]
    if not size:
        return None

    def chunks() -> Iterator[bytes]:
        for start in range(0, size, CHUNK):
            # Bytes as stored: a chunk may end inside a multi-byte character.
            piece = client.execute_command("GETRANGE", key, start, start + CHUNK - 1,
                                           NEVER_DECODE=True)  # fmt: skip
            if not piece:
                return
            yield piece

    return chunks()
