"""Housekeeping of task history."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from blueprints.ops import history


@shared_task(name="ops.prune_history")
def prune_history() -> int:
    """Delete history past TASK_HISTORY_DAYS or TASK_HISTORY_MAX_ROWS. Idempotent:
    a second run finds nothing more to delete."""
    config = current_app.config
    return history.prune(config["TASK_HISTORY_DAYS"], config["TASK_HISTORY_MAX_ROWS"])
