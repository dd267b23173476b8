"""The administrator's sale API: list, create, edit, close, orders, export."""

from __future__ import annotations

from typing import Any

from celery.utils import uuid
from sqlalchemy import select

from blueprints.auth.access import admin_api
from blueprints.core.api import Refused
from blueprints.core.openapi import Blueprint
from blueprints.core.queueing import queue_or_log
from blueprints.jobs import QueuedSchema, task_owner
from blueprints.ops.audit import audit
from blueprints.seckill import admin, tasks
from blueprints.seckill.schemas import (
    OrdersSchema,
    SaleAnswerSchema,
    SaleInputSchema,
    SalesSchema,
)
from exts import db, redis_client
from models import SeckillActivity, SeckillOrder, User

blp = Blueprint(
    "seckill_admin_api",
    __name__,
    url_prefix="/api/admin/sales",
    description="Flash sales for administrators",
)


@blp.get("")
@admin_api
@blp.response(200, SalesSchema)
def admin_list():
    """Every sale with its live stock and orders by status."""
    sales = list(db.session.scalars(select(SeckillActivity).order_by(SeckillActivity.id.desc())))
    return {"sales": admin.overview(sales)}


@blp.post("")
@admin_api
@blp.arguments(SaleInputSchema)
@blp.response(201, SaleAnswerSchema, description="Created")
def admin_create(values: dict[str, Any]):
    """Create a sale."""
    return _answer(*admin.create(admin.check(values, None)))


@blp.patch("/<id:activity_id>")
@admin_api
@blp.arguments(SaleInputSchema(partial=True))
@blp.response(200, SaleAnswerSchema, description="Changed")
@blp.alt_response(404, response="NotFound")
def admin_update(values: dict[str, Any], activity_id: int):
    """Change some of a sale's fields; once it opens, stock only grows."""
    return _answer(*admin.update(activity_id, values))


@blp.post("/<id:activity_id>/close")
@admin_api
@blp.takes_nothing
@blp.response(200, SaleAnswerSchema, description="Closed")
@blp.alt_response(404, response="NotFound")
def admin_close(activity_id: int):
    """Close a sale now."""
    return _answer(*admin.close(activity_id))


def _answer(sale: SeckillActivity, warning: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"sale": admin.overview([sale])[0]}
    if warning:
        body["warning"] = warning
    return body


@blp.get("/<id:activity_id>/orders")
@admin_api
@blp.response(200, OrdersSchema, description="The orders (the first 1,000)")
@blp.alt_response(404, response="NotFound")
def admin_orders(activity_id: int):
    """A sale's orders (the first 1,000)."""
    admin.get(activity_id)
    query = (
        select(SeckillOrder, User.email, User.phone)
        .join(User, User.id == SeckillOrder.user_id)
        .where(SeckillOrder.activity_id == activity_id)
        .order_by(SeckillOrder.id)
        .limit(1000)
    )
    rows = db.session.execute(query).all()
    for order, email, phone in rows:
        order.buyer = email or phone  # for the answer only: not a column
    return {"orders": [order for order, *_ in rows]}


@blp.post("/<id:activity_id>/export")
@admin_api
@blp.takes_nothing
@blp.response(202, QueuedSchema, description="Queued")
@blp.alt_response(404, response="NotFound")
def admin_export(activity_id: int):
    """Export a sale's orders as CSV; follow the task at /api/tasks/<task_id>
    (progress while it runs, then the download link, which expires)."""
    sale = admin.get(activity_id)
    task_id = uuid()
    key, owner, ttl = task_owner(task_id)
    redis_client.set(key, owner, ex=ttl)
    if not queue_or_log(tasks.export_orders, (sale.id,), task_id=task_id):
        message = "Tasks cannot be queued right now; try again."
        raise Refused("queue_unavailable", message, retry_after=5)
    audit("sale.export", f"sale:{sale.id}", task_id=task_id)
    db.session.commit()
    return {"task_id": task_id}
