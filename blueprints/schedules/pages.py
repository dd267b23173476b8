"""The /admin/schedules page (its JSON is schedules/api.py)."""

from __future__ import annotations

from flask import Blueprint, render_template

from blueprints.auth.access import admin_page
from blueprints.core.fields import max_lengths
from blueprints.core.queueing import registered_tasks
from blueprints.schedules.schemas import ScheduleInputSchema
from models.schedule import KINDS

bp = Blueprint("schedules", __name__)


@bp.get("/admin/schedules")
@admin_page
def schedules_page():
    return render_template("admin/schedules.html", kinds=KINDS, tasks=registered_tasks(),
                           limits=max_lengths(ScheduleInputSchema))  # fmt: skip
