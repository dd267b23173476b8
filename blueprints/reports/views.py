"""The daily sales reports: /admin/reports and the JSON behind it."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, jsonify, render_template

from blueprints.api import ApiError
from blueprints.auth.access import admin_api, admin_page
from blueprints.legacy_input import json_body, string_field
from blueprints.ops.audit import audit
from blueprints.reports import service, tasks
from exts import db

bp = Blueprint("reports", __name__)


@bp.get("/admin/reports")
@admin_page
def reports_page():
    return render_template("admin/reports.html")


@bp.get("/api/admin/reports")
@admin_api
def list_reports():
    """The last 30 daily reports, newest first.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The reports
          content:
            application/json:
              schema:
                type: object
                required: [reports]
                properties: {reports: {type: array, items: DailyReport}}
    """
    return jsonify(reports=[report.to_json() for report in service.recent()])


@bp.post("/api/admin/reports")
@admin_api
def run_report():
    """Compute a day's report now (beat does yesterday's at 00:05); it replaces
    that day's earlier one.
    ---
    post:
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [day]
              properties: {day: {type: string, format: date, description: "in TIMEZONE"}}
      responses:
        202:
          description: Being computed; GET the list to see it finish
          content:
            application/json:
              schema: {type: object, required: [task_id], properties: {task_id: {type: string}}}
    """
    body = json_body()
    unknown = sorted(set(body) - {"day"})
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {', '.join(unknown)}.")
    raw = string_field(body, "day", max_length=10)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_field", "'day' must be a date such as 2026-11-27.") from None
    if not date(2000, 1, 1) <= day <= datetime.now(service.zone()).date():
        raise ApiError(400, "invalid_field", "'day' must be a day that has begun.")
    result = tasks.daily.delay(day.isoformat())
    audit("report.run", f"report:{day.isoformat()}", task_id=result.id)
    db.session.commit()
    return jsonify(task_id=result.id), 202
