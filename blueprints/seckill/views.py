from __future__ import annotations

import time

import click
from flask import Blueprint, jsonify, render_template
from sqlalchemy import select

from blueprints.api import ApiError, json_body
from blueprints.auth.access import admin_api, admin_page, session_identity, session_user_id
from blueprints.seckill import admin, service
from exts import db
from models import SeckillActivity, SeckillOrder
from models.types import utcnow

bp = Blueprint("seckill", __name__, cli_group="seckill")


@bp.cli.command("preload")
def preload_command() -> None:
    """Load today's sales into Redis now (what beat does at midnight)."""
    loaded = service.preload_today()
    click.echo(f"Loaded {len(loaded)} sale(s) running today: {loaded}")


def _state(sale: SeckillActivity, stock_left: int | None, now) -> str:
    if sale.status == "closed":
        return "closed"
    if now < sale.starts_at:
        return "upcoming"
    if now >= sale.ends_at:
        return "ended"
    return "sold_out" if stock_left == 0 else "open"


def _public(sale: SeckillActivity, stock_left: int | None, now) -> dict:
    left = sale.total_stock if stock_left is None and now < sale.starts_at else stock_left
    return {**sale.to_json(), "stock_left": left, "state": _state(sale, left, now)}


@bp.get("/api/seckill/activities")
def activities():
    """Today's and upcoming sales, with the stock left and the server's clock."""
    now = utcnow()
    start, _ = service.local_day(now)
    query = (
        select(SeckillActivity)
        .where(SeckillActivity.ends_at > start)
        .order_by(SeckillActivity.starts_at)
        .limit(50)
    )
    sales = list(db.session.scalars(query))
    stock = service.live_stock(sale.id for sale in sales)
    return jsonify(
        activities=[_public(sale, stock[sale.id], now) for sale in sales],
        server_time=now.isoformat(),
    )


@bp.get("/api/seckill/activities/<int:activity_id>")
def activity(activity_id: int):
    now = utcnow()
    sale = admin.get(activity_id)
    stock = service.live_stock([sale.id])[sale.id]
    return jsonify(activity=_public(sale, stock, now), server_time=now.isoformat())


@bp.post("/api/seckill/<int:activity_id>")
def buy(activity_id: int):
    json_body()  # JSON only: no other site can post it without a CORS preflight
    identity = session_identity()  # checked live by the gate itself
    if identity is None:
        raise ApiError(401, "not_logged_in", "Log in to buy.")
    if service.known_sold_out(activity_id):
        raise ApiError(410, "sold_out", "Sold out.")
    verdict = service.reserve(activity_id, *identity)
    if verdict.outcome == "not_loaded":
        verdict = _load_and_retry(activity_id, *identity)
    if verdict.outcome == "logged_out":
        raise ApiError(401, "not_logged_in", "Log in to buy.")
    if verdict.outcome == "ok":
        return jsonify(seckill_id=verdict.seckill_id), 202
    if verdict.outcome == "duplicate":
        error = {"code": "already_bought", "message": "You already bought this one."}
        return jsonify(error=error, seckill_id=verdict.seckill_id), 409
    if verdict.outcome == "sold_out":
        raise ApiError(410, "sold_out", "Sold out.")
    if verdict.outcome == "not_started":
        wait = max(1, int(verdict.starts_at - time.time()))
        raise ApiError(403, "not_open_yet", f"The sale opens in {wait} s.", retry_after=wait)
    if verdict.outcome == "busy":
        raise ApiError(503, "busy", "Too many orders are waiting; try again.", retry_after=1)
    raise ApiError(403, "closed", "This sale is over.")


def _load_and_retry(activity_id: int, user_id: int, session_id: str) -> service.Verdict:
    """A sale Redis does not know: unknown, not today, or its preload has not run yet."""
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None:
        raise ApiError(404, "not_found", "No such sale.")
    if not service.runs_today(sale):
        now = utcnow()
        if sale.status == "active" and now < sale.starts_at:
            wait = int((sale.starts_at - now).total_seconds()) + 1
            raise ApiError(403, "not_open_yet", "This sale has not opened yet.", retry_after=wait)
        raise ApiError(403, "closed", "This sale is over.")
    service.preload(sale)
    return service.reserve(activity_id, user_id, session_id)


@bp.get("/api/seckill/result/<seckill_id>")
def result(seckill_id: str):
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", "Log in first.")
    body = service.result_for(seckill_id, user_id)
    if body is None:
        raise ApiError(404, "not_found", "No such purchase.")
    return jsonify(body)


@bp.post("/api/seckill/orders/<int:order_id>/pay")
def pay(order_id: int):
    json_body()
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", "Log in first.")
    order = db.session.get(SeckillOrder, order_id)
    if order is None or order.user_id != user_id:
        raise ApiError(404, "not_found", "No such order.")
    try:
        order = service.pay(order)
    except service.PaymentRefused as refused:
        raise ApiError(409, "payment_refused", str(refused)) from None
    return jsonify(order=order.to_json())


@bp.get("/seckill/<int:activity_id>")
def sale_page(activity_id: int):
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None:
        return render_template("seckill_missing.html"), 404
    return render_template("seckill.html", sale=sale)


@bp.get("/api/admin/sales")
@admin_api
def admin_list():
    sales = list(db.session.scalars(select(SeckillActivity).order_by(SeckillActivity.id.desc())))
    return jsonify(sales=admin.overview(sales))


@bp.post("/api/admin/sales")
@admin_api
def admin_create():
    sale, warning = admin.create(admin.clean(json_body(), None))
    return _admin_answer(sale, warning), 201


@bp.patch("/api/admin/sales/<int:activity_id>")
@admin_api
def admin_update(activity_id: int):
    sale = admin.get(activity_id)
    sale, warning = admin.update(sale, admin.clean(json_body(), sale))
    return _admin_answer(sale, warning)


@bp.post("/api/admin/sales/<int:activity_id>/close")
@admin_api
def admin_close(activity_id: int):
    json_body()
    sale, warning = admin.close(admin.get(activity_id))
    return _admin_answer(sale, warning)


def _admin_answer(sale: SeckillActivity, warning: str | None):
    body = {"sale": admin.overview([sale])[0]}
    if warning:
        body["warning"] = warning
    return jsonify(body)


@bp.get("/api/admin/sales/<int:activity_id>/orders")
@admin_api
def admin_orders(activity_id: int):
    admin.get(activity_id)
    query = (
        select(SeckillOrder)
        .where(SeckillOrder.activity_id == activity_id)
        .order_by(SeckillOrder.id)
        .limit(1000)
    )
    return jsonify(orders=[order.to_json() for order in db.session.scalars(query)])


@bp.get("/admin/sales")
@admin_page
def admin_sales_page():
    return render_template("admin/sales.html")
