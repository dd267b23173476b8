"""Sales for administrators: validation, create, edit, close, and the numbers."""

from __future__ import annotations

import logging
from typing import Any

import redis as redis_lib
from sqlalchemy import func, select

from blueprints.api import ApiError
from blueprints.i18n import money
from blueprints.legacy_input import field_error, moment_field, string_field, url_field
from blueprints.ops.audit import audit
from blueprints.reminders import service as reminders
from blueprints.seckill import catalogue, stock
from exts import db
from models import SeckillActivity, SeckillOrder
from models.types import utcnow

log = logging.getLogger(__name__)

FIELDS = ("title", "product", "description", "image_url", "price_cents", "regular_price_cents",
          "total_stock", "starts_at", "ends_at")  # fmt: skip
MAX_STOCK = 1_000_000
MAX_PRICE_CENTS = 100_000_000


def clean(body: dict[str, Any], sale: SeckillActivity | None) -> dict[str, Any]:
    """The sale fields in ``body``, checked; all required for a new sale."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    for name, length in (("title", 100), ("product", 200)):
        if sale is None or name in body:
            values[name] = string_field(body, name, max_length=length)
    if "description" in body:
        values["description"] = _optional_text(body, "description", 500)
    if "image_url" in body:
        values["image_url"] = url_field(body, "image_url", required=False)
    if sale is None or "price_cents" in body:
        values["price_cents"] = _cents(body, "price_cents")
    if sale is None or "total_stock" in body:
        values["total_stock"] = _whole_number(body, "total_stock", 1, MAX_STOCK)
    if body.get("regular_price_cents") is not None:
        values["regular_price_cents"] = _cents(body, "regular_price_cents")
    elif "regular_price_cents" in body:
        values["regular_price_cents"] = None
    price = values.get("price_cents", sale and sale.price_cents)
    regular = values.get("regular_price_cents", sale and sale.regular_price_cents)
    if regular is not None and price is not None and regular <= price:
        message = "must be higher than the sale price, or left empty."
        raise field_error("regular_price_cents", message, "invalid_regular_price")
    for name in ("starts_at", "ends_at"):
        if sale is None or name in body:
            values[name] = moment_field(body, name)
    current = {} if sale is None else {"starts_at": sale.starts_at, "ends_at": sale.ends_at}
    window = {**current, **values}
    if window["ends_at"] <= window["starts_at"]:
        raise field_error("ends_at", "must come after the start.", "invalid_window")
    if sale is not None and sale.starts_at <= utcnow():
        if values.get("total_stock", sale.total_stock) < sale.total_stock:
            message = "can only grow once the sale has opened."
            raise field_error("total_stock", message, "stock_lowered")
        if "starts_at" in values and values["starts_at"] != sale.starts_at:
            raise field_error("starts_at", "cannot move: the sale has opened.", "already_open")
    return values


def _optional_text(body: dict[str, Any], name: str, length: int) -> str:
    if body.get(name) in (None, ""):
        return ""
    return string_field(body, name, max_length=length)


def _whole_number(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        raise field_error(name, "is required.", "missing_field")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise field_error(name, f"must be a whole number from {low:,} to {high:,}.")
    return value


def _cents(body: dict[str, Any], name: str) -> int:
    """A price in cents; the message speaks yuan, as the form does."""
    value = body.get(name)
    if value is None:
        raise field_error(name, "is required.", "missing_field")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PRICE_CENTS:
        raise field_error(name, f"must be between {money(1)} and {money(MAX_PRICE_CENTS)}.")
    return value


NOT_LIVE = (
    "Saved. Redis did not answer, so the sale on the site may not show this change yet;"
    " the reconciliation reports any stock difference on this page."
)


def create(values: dict[str, Any]) -> tuple[SeckillActivity, str | None]:
    """The new sale, and a warning if it is saved but not yet live."""
    sale = SeckillActivity(**values)
    db.session.add(sale)
    db.session.flush()  # its id, for the audit entry
    audit("sale.create", f"sale:{sale.id}", **values)
    db.session.commit()
    return sale, _go_live(sale)


def update(sale: SeckillActivity, values: dict[str, Any]) -> tuple[SeckillActivity, str | None]:
    added = values.get("total_stock", sale.total_stock) - sale.total_stock
    for name, value in values.items():
        setattr(sale, name, value)
    audit("sale.update", f"sale:{sale.id}", **values)
    db.session.commit()
    return sale, _go_live(sale, added)


def close(sale: SeckillActivity) -> tuple[SeckillActivity, str | None]:
    sale.status = "closed"
    audit("sale.close", f"sale:{sale.id}")
    db.session.commit()
    return sale, _go_live(sale)


def _go_live(sale: SeckillActivity, added: int = 0) -> str | None:
    """Bring a committed sale into Redis: stock added, today's sale (re)loaded.
    A warning instead of an error when Redis fails: the write is committed,
    and an error would invite a retry that creates the sale twice."""
    try:
        stock.adjust_stock(sale, added)
        if stock.runs_today(sale):
            stock.preload(sale)
    except redis_lib.RedisError as error:
        log.warning("sale %s saved but not live: %s", sale.id, error)
        return NOT_LIVE
    return None


def get(activity_id: int) -> SeckillActivity:
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None:
        raise ApiError(404, "not_found", "No such sale.")
    return sale


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
            **catalogue.public({**sale.to_json(), "stock_left": left[sale.id]}, now),
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
