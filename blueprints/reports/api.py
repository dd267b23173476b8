"""The daily reports' JSON API: the recent ones, and one computed now."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import ValidationError

from blueprints.auth.access import admin_api
from blueprints.core.api import Refused
from blueprints.core.fields import Field, Moment, Schema
from blueprints.core.openapi import Blueprint
from blueprints.jobs import QueuedSchema
from blueprints.ops.audit import audit
from blueprints.reports import service, tasks
from exts import db
from models import DailyReport
from models.reminder import RUN_STATUSES

blp = Blueprint(
    "reports_api", __name__, url_prefix="/api/admin/reports", description="Daily sales reports"
)


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


@blp.get("")
@admin_api
@blp.response(200, ReportsSchema)
def list_reports():
    """The last 30 daily reports, newest first."""
    return {"reports": service.recent()}


@blp.post("")
@admin_api
@blp.arguments(RunReportSchema)
@blp.response(202, QueuedSchema, description="Being computed; GET the list to see it finish")
def run_report(body: dict[str, Any]):
    """Compute a day's report now (beat does yesterday's at 00:05, and mails
    it); it replaces that day's earlier one, and is not mailed."""
    day = body["day"].isoformat()
    result = tasks.daily.delay(day, mail=False)  # computing shows it; mailing is asked for
    audit("report.run", f"report:{day}", task_id=result.id)
    db.session.commit()
    return {"task_id": result.id}


@blp.post("/<id:report_id>/mail")
@admin_api
@blp.takes_nothing
@blp.response(202, QueuedSchema, description="The mail is being sent")
@blp.alt_response(404, response="NotFound")
@blp.alt_response(409, response="CONFLICT", description="Not computed (yet)")
def mail_report(report_id: int):
    """Mail a computed report to the admins (ADMIN_EMAILS) now."""
    report = db.get_or_404(DailyReport, report_id, description="No such report.")
    if report.status != "done":
        raise Refused("not_done", "Only a computed report can be mailed.")
    result = tasks.mail_report.delay(report.id)
    audit("report.mail", f"report:{report.day.isoformat()}", task_id=result.id)
    db.session.commit()
    return {"task_id": result.id}
