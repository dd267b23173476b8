"""The sale's pages: the shopper's (the sales as cards, one sale, my orders),
the administrator's, and the `flask seckill` commands."""

from __future__ import annotations

from datetime import timedelta

import click
import redis as redis_lib
from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.auth.access import admin_page
from blueprints.core.fields import max_lengths
from blueprints.seckill import catalogue, export, stock
from blueprints.seckill.keys import buyers_key
from blueprints.seckill.schemas import SaleInputSchema
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder
from models.types import utcnow

bp = Blueprint("seckill", __name__, cli_group="seckill")

MAX_ORDERS_PAGE = 100_000  # beyond any buyer's orders
ORDERS_PER_PAGE = 10
ENDED_SALES_SHOWN_FOR = timedelta(days=7)


def sale_cards(limit: int | None = None) -> list[dict]:
    """Sales as their cards show them: open first, then upcoming, then those
    that ended in the last week; each with its state now. From the catalogue's
    one-second snapshot, as the sale pages' polls are: the home page is hot too."""
    now = utcnow()
    since, _ = stock.local_day(now - ENDED_SALES_SHOWN_FOR)
    cards = [catalogue.public(sale, now) for sale in catalogue.sales_snapshot(since)]
    order = {"open": 0, "upcoming": 1, "sold_out": 2, "ended": 3, "closed": 4}
    cards.sort(key=lambda card: order[card["state"]])
    return cards[:limit]


@bp.get("/sales")
def sales_page():
    return render_template("sales.html", sales=sale_cards(), server_time=utcnow())


@bp.get("/seckill/<id:activity_id>")
def sale_page(activity_id: int):
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None:
        abort(404, _("This sale does not exist, or it was removed."))
    window = timedelta(seconds=current_app.config["SECKILL_PAY_TIMEOUT"])
    pay_window = format_timedelta(window, threshold=2)  # '15 minutes', '15分钟'
    return render_template("seckill.html", sale=sale, pay_window=pay_window)


@bp.get("/orders")
@login_required
def orders_page():
    """The user's orders, newest first, with the reservations whose order is
    still being written (they are in Redis only, for a moment)."""
    # Clamped: a page number no database column holds would be a 500.
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_ORDERS_PAGE)
    query = (
        select(SeckillOrder)
        .where(SeckillOrder.user_id == current_user.id)
        .order_by(SeckillOrder.id.desc())
    )
    orders = db.paginate(query, page=page, per_page=ORDERS_PER_PAGE, error_out=False)
    ids = {order.activity_id for order in orders.items}
    sales = {sale.id: sale for sale in db.session.scalars(
        select(SeckillActivity).where(SeckillActivity.id.in_(ids)))}  # fmt: skip
    rows = [(order, sales[order.activity_id]) for order in orders.items]
    return render_template(
        "orders.html",
        orders=orders,
        rows=rows,
        being_written=_being_written() if page == 1 else [],
        pay_window=current_app.config["SECKILL_PAY_TIMEOUT"],
        server_time=utcnow(),
    )


def _being_written() -> list[SeckillActivity]:
    """Today's sales where the gate holds a reservation of this user that has
    no order yet."""
    start, end = stock.local_day()
    sales = list(
        db.session.scalars(
            select(SeckillActivity).where(
                SeckillActivity.starts_at < end, SeckillActivity.ends_at > start
            )
        )
    )
    if not sales:
        return []
    try:
        with redis_client.pipeline(transaction=False) as pipe:
            for sale in sales:
                pipe.hget(buyers_key(sale.id), str(current_user.id))
            held = pipe.execute()
    except redis_lib.RedisError:
        return []  # the written orders still show; these appear once written
    reserved = [sale for sale, seckill_id in zip(sales, held, strict=True) if seckill_id]
    if not reserved:
        return []
    written = set(
        db.session.scalars(
            select(SeckillOrder.activity_id).where(
                SeckillOrder.user_id == current_user.id,
                SeckillOrder.activity_id.in_([sale.id for sale in reserved]),
            )
        )
    )
    return [sale for sale in reserved if sale.id not in written]


@bp.cli.command("preload")
def preload_command() -> None:
    """Load today's sales into Redis now (what beat does at midnight)."""
    loaded = stock.preload_today()
    click.echo(f"Loaded {len(loaded)} sale(s) running today: {loaded}")


@bp.get("/admin/sales/<id:activity_id>/exports/<token>.csv")
@admin_page
def admin_export_download(activity_id: int, token: str):
    chunks = export.read_chunks(activity_id, token) if len(token) <= 64 else None
    if chunks is None:
        abort(404, "This export has expired or never existed: export the sale again.")
    disposition = f'attachment; filename="sale-{activity_id}-orders.csv"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(chunks, mimetype="text/csv", headers=headers)


@bp.get("/admin/sales")
@admin_page
def admin_sales_page():
    return render_template("admin/sales.html", limits=max_lengths(SaleInputSchema))
