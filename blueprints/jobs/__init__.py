"""Task status for the user who queued the task: GET /api/tasks/<task_id>."""

from blueprints.jobs.views import bp, task_owner

__all__ = ["bp", "task_owner"]
