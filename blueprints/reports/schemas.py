"""The shapes of the daily reports' API."""

from __future__ import annotations

from datetime import date, datetime

import marshmallow as ma
from marshmallow import ValidationError

from blueprints.core.fields import Field, Moment, Schema
from blueprints.reports import service
from models.reminder import RUN_STATUSES


class DailyReportSchema(Schema):
    id = ma.fields.Integer(required=True)
    day = ma.fields.Date(required=True, metadata={"description": "in TIMEZONE"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(RUN_STATUSES))
    sales = ma.fields.List(ma.fields.Dict(), required=True)
    error = ma.fields.String(required=True, allow_none=True)
    mailed_to = ma.fields.Integer(required=True)
    started_at = Moment(required=True)
    finished_at = Moment(required=True, allow_none=True)


class ReportsSchema(Schema):
    reports = ma.fields.List(ma.fields.Nested(DailyReportSchema), required=True)


class BegunDay(Field, ma.fields.Date):
    """A day in TIMEZONE that has begun."""

    default_error_messages = {"invalid": "must be a date such as 2026-11-27."}

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        if not isinstance(value, str) or len(value) > 10:
            raise self.make_error("invalid")
        day = super()._deserialize(value, attr, data, **kwargs)
        if not date(2000, 1, 1) <= day <= datetime.now(service.zone()).date():
            raise ValidationError("must be a day that has begun.")
        return day


class RunReportSchema(Schema):
    day = BegunDay(required=True, metadata={"description": "in TIMEZONE"})
