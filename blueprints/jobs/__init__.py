"""Task status for the browser that queued the task: GET /api/tasks/<task_id>."""

from blueprints.jobs.views import bp, browser_id, task_owner

__all__ = ["bp", "browser_id", "task_owner"]
