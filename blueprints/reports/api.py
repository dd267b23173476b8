"""The daily reports' JSON API: the recent ones, and one computed now."""

from __future__ import annotations

from typing import Any

from blueprints.auth.access import admin_api
from blueprints.core.api import Refused
from blueprints.core.openapi import Blueprint
from blueprints.jobs import QueuedSchema
from blueprints.ops.audit import audit
from blueprints.reports import service, tasks
from blueprints.reports.schemas import ReportsSchema, RunReportSchema
from exts import db
from models import DailyReport

blp = Blueprint(
    "reports_api", __name__, url_prefix="/api/admin/reports", description="Daily sales reports"
)


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
