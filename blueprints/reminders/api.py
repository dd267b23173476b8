"""A shopper's reminder before a sale opens: ask, look, cancel."""

from __future__ import annotations

from flask import g

from blueprints.auth.access import login_api
from blueprints.core.openapi import Blueprint
from blueprints.reminders import service
from blueprints.reminders.schemas import ReminderSchema

blp = Blueprint(
    "reminders_api",
    __name__,
    url_prefix="/api/seckill",
    description="Reminders before a sale opens",
)


@blp.get("/<id:activity_id>/reminder")
@login_api
@blp.response(200, ReminderSchema, description="Yes or no")
def reminder(activity_id: int):
    """Whether you will be reminded before this sale opens."""
    return {"subscribed": service.is_subscribed(activity_id, g.user_id)}


@blp.post("/<id:activity_id>/reminder")
@login_api
@blp.takes_nothing
@blp.response(201, ReminderSchema, description="You will be reminded")
@blp.alt_response(200, schema=ReminderSchema, description="You already were", success=True)
@blp.alt_response(404, response="NotFound")
@blp.alt_response(409, response="CONFLICT", description="The sale has opened or is closed")
def subscribe(activity_id: int):
    """Be reminded (by e-mail) shortly before this sale opens; asking twice is one reminder."""
    created = service.subscribe(activity_id, g.user_id)
    # Asked within the last minutes: that opening's reminders have gone out.
    body = {"subscribed": True, "sent_already": service.went_out(activity_id)}
    return body, 201 if created else 200


@blp.delete("/<id:activity_id>/reminder")
@login_api
@blp.takes_no_body
@blp.response(200, ReminderSchema, description="No reminder now")
def unsubscribe(activity_id: int):
    """Cancel your reminder (nothing happens if there was none)."""
    service.unsubscribe(activity_id, g.user_id)
    return {"subscribed": False}
