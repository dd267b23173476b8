from __future__ import annotations

import time
from typing import Any

import click
from celery.utils import uuid
from flask import Blueprint, Response, abort, jsonify, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from blueprints.api import ApiError
from blueprints.auth.access import admin_api, admin_page, session_identity, session_user_id
from blueprints.jobs import task_owner
from blueprints.legacy_input import json_body
from blueprints.ops import metrics
from blueprints.ops.audit import audit
from blueprints.queueing import queue_or_log
from blueprints.seckill import admin, catalogue, export, gate, orders, payment, stock, tasks
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder, User
from models.types import utcnow

bp = Blueprint("seckill", __name__, cli_group="seckill")
NOT_OPEN_YET = lazy_gettext("The sale has not opened yet: wait for the countdown.")
SALE_PAUSED = lazy_gettext(
    "The sale is paused for a moment while we check its stock. Back in a moment."
)


@bp.cli.command("preload")
def preload_command() -> None:
    """Load today's sales into Redis now (what beat does at midnight)."""
    loaded = stock.preload_today()
    click.echo(f"Loaded {len(loaded)} sale(s) running today: {loaded}")


@bp.get("/api/seckill/activities")
def activities():
    """Today's and upcoming sales, with the stock left and the server's clock.
    ---
    get:
      tags: [sales]
      responses:
        200:
          description: The sales
          content:
            application/json:
              schema:
                type: object
                required: [activities, server_time]
                properties:
                  activities: {type: array, items: PublicSale}
                  server_time: {type: string, format: date-time}
    """
    now = utcnow()
    start, _ = stock.local_day(now)
    sales = [catalogue.public(snapshot, now) for snapshot in catalogue.sales_snapshot(start)]
    return jsonify(activities=sales, server_time=now.isoformat())


@bp.get("/api/seckill/activities/<id:activity_id>")
def activity(activity_id: int):
    """One sale, with the stock left and the server's clock.
    ---
    get:
      tags: [sales]
      responses:
        200:
          description: The sale
          content:
            application/json:
              schema:
                type: object
                required: [activity, server_time]
                properties:
                  activity: PublicSale
                  server_time: {type: string, format: date-time}
        404: NotFound
    """
    now = utcnow()
    snapshot = catalogue.sale_snapshot(activity_id)
    if snapshot is None:
        raise ApiError(404, "not_found", _("This sale does not exist."))
    return jsonify(activity=catalogue.public(snapshot, now), server_time=now.isoformat())


@bp.get("/api/seckill/activities/<id:activity_id>/purchase")
def my_purchase(activity_id: int):
    """The logged-in user's purchase in this sale, whichever device made it.
    ---
    get:
      tags: [sales]
      security: [{session: []}]
      responses:
        200:
          description: The purchase (null if none); order is null until it is written
          content:
            application/json:
              schema:
                type: object
                required: [purchase]
                properties:
                  purchase:
                    type: object
                    nullable: true
                    required: [seckill_id, order]
                    properties:
                      seckill_id: {type: string}
                      order: {allOf: [Order], nullable: true}
        401: NotLoggedIn
        404: NotFound
    """
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", _("Log in first."))
    admin.get(activity_id)
    return jsonify(purchase=orders.purchase_of(activity_id, user_id))


@bp.post("/api/seckill/<id:activity_id>")
def buy(activity_id: int):
    """Reserve one unit; poll the result with the answer's seckill_id.
    ---
    post:
      tags: [sales]
      security: [{session: []}]
      requestBody:
        required: true
        content: {application/json: {schema: Empty}}
      responses:
        200:
          description: >
            Taken, but no replica confirmed it in time: a Redis failover now
            could lose it. Poll the result: 404 there means it was lost.
          content:
            application/json:
              schema: Reservation
        202:
          description: Reserved (on a replica too); the order is being written
          content:
            application/json:
              schema: Reservation
        401: NotLoggedIn
        403:
          description: Not open yet, or over
          content: {application/json: {schema: Error}}
        404: NotFound
        409:
          description: Already bought; seckill_id is that purchase
          content:
            application/json:
              schema:
                allOf: [Error, {type: object, properties: {seckill_id: {type: string}}}]
        410:
          description: Sold out
          content: {application/json: {schema: Error}}
        503:
          description: >
            Busy, or paused for a moment while the sale is rebuilt after a
            Redis failover (sale_paused); try again after Retry-After
          content: {application/json: {schema: Error}}
    """
    json_body()  # JSON only: no other site can post it without a CORS preflight
    identity = session_identity()  # checked live by the gate itself
    if identity is None:
        raise ApiError(401, "not_logged_in", _("Log in to buy."))
    if stock.known_sold_out(activity_id):
        metrics.count("shop_seckill_reservations_total", outcome="sold_out")
        raise ApiError(410, "sold_out", _("Sold out. Other sales are on the home page."))
    verdict = gate.reserve(activity_id, *identity)
    if verdict.outcome == "not_loaded":
        verdict = _load_and_retry(activity_id, *identity)
    metrics.count("shop_seckill_reservations_total", outcome=verdict.outcome)
    if verdict.outcome == "logged_out":
        raise ApiError(401, "not_logged_in", _("Log in to buy."))
    if verdict.outcome == "ok":
        if verdict.kick:
            tasks.ask_for_drain()
        status = 202 if verdict.confirmed else 200
        return jsonify(seckill_id=verdict.seckill_id, confirmed=verdict.confirmed), status
    if verdict.outcome == "duplicate":
        error = {"code": "already_bought", "message": _("You already bought this one.")}
        return jsonify(error=error, seckill_id=verdict.seckill_id), 409
    if verdict.outcome == "sold_out":
        raise ApiError(410, "sold_out", _("Sold out. Other sales are on the home page."))
    if verdict.outcome == "not_started":
        wait = max(1, int((verdict.starts_at or 0) - time.time()))
        raise ApiError(403, "not_open_yet", NOT_OPEN_YET, retry_after=wait)
    if verdict.outcome == "paused":
        raise ApiError(503, "sale_paused", SALE_PAUSED, retry_after=1)
    if verdict.outcome == "busy":
        raise ApiError(503, "busy", _("Too many orders at once. Press Buy again in a second."),
                       retry_after=1)  # fmt: skip
    raise ApiError(403, "closed", _("This sale is over."))


def _load_and_retry(activity_id: int, user_id: int, session_id: str) -> gate.Verdict:
    """A sale Redis does not know: unknown, not today, or its preload has not run yet."""
    sale = db.session.get(SeckillActivity, activity_id)
    if sale is None:
        raise ApiError(404, "not_found", _("This sale does not exist."))
    if not stock.runs_today(sale):
        now = utcnow()
        if sale.status == "active" and now < sale.starts_at:
            wait = int((sale.starts_at - now).total_seconds()) + 1
            raise ApiError(403, "not_open_yet", NOT_OPEN_YET, retry_after=wait)
        raise ApiError(403, "closed", _("This sale is over."))
    stock.preload(sale)
    return gate.reserve(activity_id, user_id, session_id)


@bp.get("/api/seckill/result/<seckill_id>")
def result(seckill_id: str):
    """How a purchase went: 100 ordered, 101 payment timed out, others pending or failed.
    ---
    get:
      tags: [sales]
      security: [{session: []}]
      responses:
        200:
          description: The purchase's state
          content:
            application/json:
              schema:
                type: object
                required: [code, message]
                properties:
                  code: {type: integer}
                  message: {type: string}
                  order_id: {type: integer}
        401: NotLoggedIn
        404: NotFound
    """
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", _("Log in first."))
    body = orders.result_for(seckill_id, user_id)
    if body is None:
        raise ApiError(404, "not_found", _("We have no such purchase of yours."))
    return jsonify(body)


@bp.post("/api/seckill/orders/<id:order_id>/pay")
def pay(order_id: int):
    """Pay for an order that waits for payment.
    ---
    post:
      tags: [sales]
      security: [{session: []}]
      requestBody:
        required: true
        content: {application/json: {schema: Empty}}
      responses:
        200:
          description: Paid
          content:
            application/json:
              schema: {type: object, required: [order], properties: {order: Order}}
        401: NotLoggedIn
        404: NotFound
        409:
          description: Cancelled already, or paid
          content: {application/json: {schema: Error}}
    """
    json_body()
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", _("Log in first."))
    order = db.session.get(SeckillOrder, order_id)
    if order is None or order.user_id != user_id:
        raise ApiError(404, "not_found", _("We have no such order of yours."))
    try:
        order = payment.pay(order)
    except payment.PaymentRefused as refused:
        raise ApiError(409, "payment_refused", _(str(refused))) from None
    return jsonify(order=order.to_json())


@bp.get("/api/admin/sales")
@admin_api
def admin_list():
    """Every sale with its live stock and orders by status.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The sales
          content:
            application/json:
              schema:
                type: object
                required: [sales]
                properties: {sales: {type: array, items: SaleOverview}}
    """
    sales = list(db.session.scalars(select(SeckillActivity).order_by(SeckillActivity.id.desc())))
    return jsonify(sales=admin.overview(sales))


@bp.post("/api/admin/sales")
@admin_api
def admin_create():
    """Create a sale; every field is required.
    ---
    post:
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - SaleInput
                - type: object
                  required: [title, product, price_cents, total_stock, starts_at, ends_at]
      responses:
        201:
          description: Created
          content: {application/json: {schema: SaleAnswer}}
    """
    sale, warning = admin.create(admin.clean(json_body(), None))
    return _admin_answer(sale, warning), 201


@bp.patch("/api/admin/sales/<id:activity_id>")
@admin_api
def admin_update(activity_id: int):
    """Change some of a sale's fields; once it opens, stock only grows.
    ---
    patch:
      tags: [admin]
      requestBody:
        required: true
        content: {application/json: {schema: SaleInput}}
      responses:
        200:
          description: Changed
          content: {application/json: {schema: SaleAnswer}}
        404: NotFound
    """
    sale = admin.get(activity_id)
    sale, warning = admin.update(sale, admin.clean(json_body(), sale))
    return _admin_answer(sale, warning)


@bp.post("/api/admin/sales/<id:activity_id>/close")
@admin_api
def admin_close(activity_id: int):
    """Close a sale now.
    ---
    post:
      tags: [admin]
      requestBody:
        required: true
        content: {application/json: {schema: Empty}}
      responses:
        200:
          description: Closed
          content: {application/json: {schema: SaleAnswer}}
        404: NotFound
    """
    json_body()
    sale, warning = admin.close(admin.get(activity_id))
    return _admin_answer(sale, warning)


def _admin_answer(sale: SeckillActivity, warning: str | None):
    body: dict[str, Any] = {"sale": admin.overview([sale])[0]}
    if warning:
        body["warning"] = warning
    return jsonify(body)


@bp.get("/api/admin/sales/<id:activity_id>/orders")
@admin_api
def admin_orders(activity_id: int):
    """A sale's orders (the first 1,000).
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The orders
          content:
            application/json:
              schema:
                type: object
                required: [orders]
                properties:
                  orders:
                    type: array
                    items:
                      allOf:
                        - Order
                        - type: object
                          required: [buyer]
                          properties: {buyer: {type: string, nullable: true}}
        404: NotFound
    """
    admin.get(activity_id)
    query = (
        select(SeckillOrder, User.email, User.phone)
        .join(User, User.id == SeckillOrder.user_id)
        .where(SeckillOrder.activity_id == activity_id)
        .order_by(SeckillOrder.id)
        .limit(1000)
    )
    orders = [
        {**order.to_json(), "buyer": email or phone}
        for order, email, phone in db.session.execute(query)
    ]
    return jsonify(orders=orders)


@bp.post("/api/admin/sales/<id:activity_id>/export")
@admin_api
def admin_export(activity_id: int):
    """Export a sale's orders as CSV; follow the task at /api/tasks/<task_id>
    (progress while it runs, then the download link, which expires).
    ---
    post:
      tags: [admin]
      responses:
        202:
          description: Queued
          content:
            application/json:
              schema: {type: object, required: [task_id], properties: {task_id: {type: string}}}
        404: NotFound
    """
    sale = admin.get(activity_id)
    task_id = uuid()
    key, owner, ttl = task_owner(task_id)
    redis_client.set(key, owner, ex=ttl)
    if not queue_or_log(tasks.export_orders, (sale.id,), task_id=task_id):
        raise ApiError(503, "queue_unavailable", "Tasks cannot be queued right now; try again.",
                       retry_after=5)  # fmt: skip
    audit("sale.export", f"sale:{sale.id}", task_id=task_id)
    db.session.commit()
    return jsonify(task_id=task_id), 202


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
    return render_template("admin/sales.html")
