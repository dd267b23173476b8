"""Task status for the user who queued the task: GET /api/tasks/<task_id>."""

from blueprints.jobs.views import bp, remember_task

__all__ = ["bp", "remember_task"]
