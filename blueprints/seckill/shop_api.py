"""The shopper's sale API: the catalogue, Buy, the result to poll, paying."""

from __future__ import annotations

import time

from flask import g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from blueprints.auth.access import login_api, session_identity
from blueprints.core.api import Refused
from blueprints.core.openapi import Blueprint
from blueprints.ops import metrics
from blueprints.seckill import catalogue, gate, orders, payment, stock, tasks
from blueprints.seckill.schemas import (
    ActivitiesSchema,
    ActivitySchema,
    AlreadyBoughtSchema,
    OrderAnswerSchema,
    PurchaseAnswerSchema,
    ReservationSchema,
    ResultSchema,
)
from exts import db
from models import SeckillActivity, SeckillOrder
from models.types import utcnow

blp = Blueprint(
    "seckill_api", __name__, url_prefix="/api/seckill", description="Flash sales for shoppers"
)

NO_SUCH_SALE = lazy_gettext("This sale does not exist.")
NOT_OPEN_YET = lazy_gettext("The sale has not opened yet: wait for the countdown.")
SOLD_OUT = lazy_gettext("Sold out. Other sales are on the home page.")
OVER = lazy_gettext("This sale is over.")
SALE_PAUSED = lazy_gettext(
    "The sale is paused for a moment while we check its stock. Back in a moment."
)
LOG_IN_TO_BUY = lazy_gettext("Log in to buy.")
REFUSALS = {  # the gate's verdict: (code, message, retry after)
    "logged_out": ("not_logged_in", LOG_IN_TO_BUY, None),
    "sold_out": ("sold_out", SOLD_OUT, None),
    "paused": ("sale_paused", SALE_PAUSED, 1),
    "busy": ("busy", lazy_gettext("Too many orders at once. Press Buy again in a second."), 1),
}


@blp.get("/activities")
@blp.response(200, ActivitiesSchema)
def activities():
    """Today's and upcoming sales, with the stock left and the server's clock."""
    now = utcnow()
    start, _ = stock.local_day(now)
    sales = [catalogue.public(snapshot, now) for snapshot in catalogue.sales_snapshot(start)]
    return {"activities": sales, "server_time": now}


@blp.get("/activities/<id:activity_id>")
@blp.response(200, ActivitySchema)
@blp.alt_response(404, response="NotFound")
def activity(activity_id: int):
    """One sale, with the stock left and the server's clock."""
    now = utcnow()
    snapshot = catalogue.sale_snapshot(activity_id)
    if snapshot is None:
        raise Refused("not_found", NO_SUCH_SALE)
    return {"activity": catalogue.public(snapshot, now), "server_time": now}


@blp.get("/activities/<id:activity_id>/purchase")
@login_api
@blp.response(200, PurchaseAnswerSchema, description="null if none; order null until written")
@blp.alt_response(404, response="NotFound")
def my_purchase(activity_id: int):
    """The logged-in user's purchase in this sale, whichever device made it."""
    db.get_or_404(SeckillActivity, activity_id, description=NO_SUCH_SALE)
    return {"purchase": orders.purchase_of(activity_id, g.user_id)}


@blp.post("/<id:activity_id>")
@blp.takes_nothing
@blp.response(202, ReservationSchema,
              description="Reserved (on a replica too); the order is being written")  # fmt: skip
@blp.alt_response(200, schema=ReservationSchema, success=True, description=(
    "Taken, but no replica confirmed it in time: a Redis failover now could lose it."
    " Poll the result: 404 there means it was lost."))  # fmt: skip
@blp.alt_response(401, response="NotLoggedIn")
@blp.alt_response(403, response="FORBIDDEN", description="Not open yet, or over")
@blp.alt_response(404, response="NotFound")
@blp.alt_response(409, schema=AlreadyBoughtSchema, description="Already bought")
@blp.alt_response(410, response="GONE", description="Sold out")
def buy(activity_id: int):
    """Reserve one unit; poll the result with the answer's seckill_id. 503
    ``sale_paused`` while the sale is rebuilt after a Redis failover: try
    again after Retry-After."""
    identity = session_identity()  # checked live by the gate itself
    if identity is None:
        raise Refused("not_logged_in", LOG_IN_TO_BUY)
    if stock.known_sold_out(activity_id):
        metrics.count("shop_seckill_reservations_total", outcome="sold_out")
        raise Refused("sold_out", SOLD_OUT)
    verdict = gate.reserve(activity_id, *identity)
    if verdict.outcome == "not_loaded":
        verdict = _load_and_retry(activity_id, *identity)
    metrics.count("shop_seckill_reservations_total", outcome=verdict.outcome)
    if verdict.outcome == "ok":
        if verdict.kick:
            tasks.ask_for_drain()
        answer = {"seckill_id": verdict.seckill_id, "confirmed": verdict.confirmed}
        return answer, 202 if verdict.confirmed else 200
    if verdict.outcome == "duplicate":
        error = {"code": "already_bought", "message": _("You already bought this one.")}
        return jsonify(error=error, seckill_id=verdict.seckill_id), 409
    if verdict.outcome == "not_started":
        wait = max(1, int((verdict.starts_at or 0) - time.time()))
        raise Refused("not_open_yet", NOT_OPEN_YET, retry_after=wait)
    code, message, retry_after = REFUSALS.get(verdict.outcome, ("closed", OVER, None))
    raise Refused(code, message, retry_after=retry_after)


def _load_and_retry(activity_id: int, user_id: int, session_id: str) -> gate.Verdict:
    """A sale Redis does not know: unknown, not today, or its preload has not run yet."""
    sale = db.get_or_404(SeckillActivity, activity_id, description=NO_SUCH_SALE)
    if not stock.runs_today(sale):
        now = utcnow()
        if sale.status == "active" and now < sale.starts_at:
            wait = int((sale.starts_at - now).total_seconds()) + 1
            raise Refused("not_open_yet", NOT_OPEN_YET, retry_after=wait)
        raise Refused("closed", OVER)
    stock.preload(sale)
    return gate.reserve(activity_id, user_id, session_id)


@blp.get("/result/<seckill_id>")
@login_api
@blp.response(200, ResultSchema, description="How the purchase went")
@blp.alt_response(404, response="NotFound")
def result(seckill_id: str):
    """How a purchase went: 100 ordered, 101 payment timed out, others pending or failed."""
    body = orders.result_for(seckill_id, g.user_id)
    if body is None:
        raise Refused("not_found", _("We have no such purchase of yours."))
    return body


@blp.post("/orders/<id:order_id>/pay")
@login_api
@blp.takes_nothing
@blp.response(200, OrderAnswerSchema, description="Paid")
@blp.alt_response(404, response="NotFound")
@blp.alt_response(409, response="CONFLICT", description="Cancelled, or its time to pay ran out")
def pay(order_id: int):
    """Pay for an order that waits for payment, before its pay_by."""
    order = db.session.get(SeckillOrder, order_id)
    if order is None or order.user_id != g.user_id:
        raise Refused("not_found", _("We have no such order of yours."))
    try:
        return {"order": payment.pay(order)}
    except payment.PaymentRefused as refused:
        raise Refused("payment_refused", _(str(refused))) from None
