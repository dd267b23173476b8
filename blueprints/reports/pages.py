"""The daily sales reports' page, /admin/reports (its JSON is reports/api.py)."""

from __future__ import annotations

from flask import Blueprint, render_template

from blueprints.auth.access import admin_page

bp = Blueprint("reports", __name__)


@bp.get("/admin/reports")
@admin_page
def reports_page():
    return render_template("admin/reports.html")
