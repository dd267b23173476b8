"""Reminders as the API answers them, and a fan-out's report (also the
report task's result)."""

from __future__ import annotations

import marshmallow as ma

from blueprints.core.fields import Moment, Schema
from models.reminder import RUN_STATUSES


class ReminderSchema(Schema):
    subscribed = ma.fields.Boolean(required=True)
    sent_already = ma.fields.Boolean(
        metadata={"description": "the reminders for this opening went out before you asked"}
    )


class ReminderRunSchema(Schema):
    id = ma.fields.Integer(required=True)
    starts_at = Moment(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(RUN_STATUSES))
    total = ma.fields.Integer(required=True)
    sent = ma.fields.Integer(required=True)
    failed = ma.fields.Integer(required=True)
    skipped = ma.fields.Integer(required=True)
    percent = ma.fields.Integer(required=True)
    error = ma.fields.String(allow_none=True)
    started_at = Moment(required=True)
    finished_at = Moment(allow_none=True)


REPORT = ReminderRunSchema()  # built once: the answer and the report task's result
