"""A shopper's reminder before a sale opens: ask, look, cancel."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.api import ApiError
from blueprints.reminders import service

bp = Blueprint("reminders", __name__)


def _user_id() -> int:
    if not current_user.is_authenticated:
        raise ApiError(401, "not_logged_in", _("Log in to be reminded."))
    return current_user.id


@bp.get("/api/seckill/<id:activity_id>/reminder")
def reminder(activity_id: int):
    """Whether you will be reminded before this sale opens.
    ---
    get:
      tags: [sales]
      security: [{session: []}]
      responses:
        200:
          description: Yes or no
          content: {application/json: {schema: Reminder}}
        401: NotLoggedIn
        404: NotFound
    """
    return jsonify(subscribed=service.is_subscribed(activity_id, _user_id()))


@bp.post("/api/seckill/<id:activity_id>/reminder")
def subscribe(activity_id: int):
    """Be reminded (by e-mail) shortly before this sale opens; asking twice is one reminder.
    ---
    post:
      tags: [sales]
      security: [{session: []}]
      responses:
        201:
          description: You will be reminded
          content: {application/json: {schema: Reminder}}
        200:
          description: You already were to be
          content: {application/json: {schema: Reminder}}
        401: NotLoggedIn
        404: NotFound
        409:
          description: The sale has opened or is closed
          content: {application/json: {schema: Error}}
    """
    created = service.subscribe(activity_id, _user_id())
    # Asked within the last minutes: that opening's reminders have gone out.
    return jsonify(subscribed=True, sent_already=service.went_out(activity_id)), (
        201 if created else 200
    )


@bp.delete("/api/seckill/<id:activity_id>/reminder")
def unsubscribe(activity_id: int):
    """Cancel your reminder (nothing happens if there was none).
    ---
    delete:
      tags: [sales]
      security: [{session: []}]
      responses:
        200:
          description: No reminder now
          content: {application/json: {schema: Reminder}}
        401: NotLoggedIn
        404: NotFound
    """
    service.unsubscribe(activity_id, _user_id())
    return jsonify(subscribed=False)
