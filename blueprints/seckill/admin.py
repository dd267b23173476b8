"""Sales for administrators: the rules across fields, create, edit, close, the numbers."""

from __future__ import annotations

import logging
from typing import Any

import redis as redis_lib
from sqlalchemy import func, select

from blueprints.core.api import Refused
from blueprints.ops.audit import audit
from blueprints.reminders import service as reminders
from blueprints.seckill import catalogue, stock
from blueprints.seckill.editing import editing
from blueprints.seckill.schemas import SaleSchema
from exts import db
from models import SeckillActivity, SeckillOrder
from models.types import utcnow

log = logging.getLogger(__name__)


def check(values: dict[str, Any], sale: SeckillActivity | None) -> dict[str, Any]:
    """The rules across fields, for a new sale (``sale`` None) or an edit."""
    price = values.get("price_cents", sale and sale.price_cents)
    regular = values.get("regular_price_cents", sale and sale.regular_price_cents)
    if regular is not None and price is not None and regular <= price:
        message = "The regular price must be higher than the sale price, or left empty."
        raise Refused("invalid_regular_price", message, "regular_price_cents")
    current = {} if sale is None else {"starts_at": sale.starts_at, "ends_at": sale.ends_at}
    window = {**current, **values}
    if window["ends_at"] <= window["starts_at"]:
        raise Refused("invalid_window", "The end must come after the start.", "ends_at")
    if sale is not None and sale.starts_at <= utcnow():
        if values.get("total_stock", sale.total_stock) < sale.total_stock:
            message = "The stock can only grow once the sale has opened."
            raise Refused("stock_lowered", message, "total_stock")
        if "starts_at" in values and values["starts_at"] != sale.starts_at:
            message = "The start cannot move: the sale has opened."
            raise Refused("already_open", message, "starts_at")
    return values


NOT_LIVE = (
    "Saved. Redis did not answer, so the sale on the site may not show this change yet;"
    " the reconciliation brings it there within a minute."
)


def create(values: dict[str, Any]) -> tuple[SeckillActivity, str | None]:
    """The new sale, and a warning if it is saved but not yet live."""
    sale = SeckillActivity(**values)
    db.session.add(sale)
    db.session.flush()  # its id, for the audit entry
    audit("sale.create", f"sale:{sale.id}", **values)
    db.session.commit()
    return sale, _go_live(sale)


def update(activity_id: int, values: dict[str, Any]) -> tuple[SeckillActivity, str | None]:
    """Change a sale's fields (checked against the row as it is now) and bring
    Redis along. Atomic per sale: see ``editing``."""
    with editing(activity_id) as sale:
        check(values, sale)
        for name, value in values.items():
            setattr(sale, name, value)
        audit("sale.update", f"sale:{sale.id}", **values)
        warning = _go_live(sale)
    return sale, warning


def close(activity_id: int) -> tuple[SeckillActivity, str | None]:
    with editing(activity_id) as sale:
        sale.status = "closed"
        audit("sale.close", f"sale:{sale.id}")
        warning = _go_live(sale)
    return sale, warning


def _go_live(sale: SeckillActivity) -> str | None:
    """Bring a sale into Redis: its total (the units taken stay taken), and a
    sale of today (re)loaded. A warning instead of an error when Redis fails:
    the write stands, and the reconciliation brings Redis to it within a minute;
    an error would invite a retry that creates a new sale twice."""
    try:
        stock.set_total(sale)
        if stock.runs_today(sale):
            stock.preload(sale)
    except stock.BelowTaken as below:
        message = f"{below.taken} units are already taken: the stock cannot go below that."
        raise Refused("below_taken", message, "total_stock") from None
    except redis_lib.RedisError as error:
        log.warning("sale %s saved but not live: %s", sale.id, error)
        return NOT_LIVE
    return None


def get(activity_id: int) -> SeckillActivity:
    return db.get_or_404(SeckillActivity, activity_id, description="No such sale.")


def overview(sales: list[SeckillActivity]) -> list[dict[str, Any]]:
    """Each sale with its live stock, orders by status, and any reported drift."""
    ids = [sale.id for sale in sales]
    left, drift = stock.live_figures(ids)
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    query = (
        select(SeckillOrder.activity_id, SeckillOrder.status, func.count())
        .where(SeckillOrder.activity_id.in_(ids))
        .group_by(SeckillOrder.activity_id, SeckillOrder.status)
    )
    for activity_id, status, count in db.session.execute(query):
        counts[activity_id][status] = count
    now = utcnow()
    return [
        {
            # The state a shopper sees now: upcoming, open, sold out, ended, closed.
            **catalogue.public({**SaleSchema().dump(sale), "stock_left": left[sale.id]}, now),
            "stock_left": left[sale.id],
            "orders": counts[sale.id],
            "sold": counts[sale.id].get("pending_payment", 0) + counts[sale.id].get("paid", 0),
            "stock_drift": drift.get(sale.id),
            "reminders": {
                "subscribers": reminders.subscriber_count(sale.id),
                "last_run": reminders.latest_run(sale.id),
            },
        }
        for sale in sales
    ]
