"""The operator's /admin/tasks page (its JSON is ops/api.py)."""

from __future__ import annotations

from flask import Blueprint, render_template

from blueprints.auth.access import admin_page
from blueprints.core.fields import max_lengths
from blueprints.ops import history
from blueprints.ops.schemas import TaskFiltersSchema

bp = Blueprint("ops", __name__)


@bp.get("/admin/tasks")
@admin_page
def tasks_page():
    limits = max_lengths(TaskFiltersSchema)
    return render_template("admin/tasks.html", states=history.STATES, limits=limits)
