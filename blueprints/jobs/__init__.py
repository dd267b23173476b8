"""Task status for the browser that queued the task: GET /api/tasks/<task_id>."""

from blueprints.jobs.views import QueuedSchema, bp, browser_id, task_owner

__all__ = ["QueuedSchema", "bp", "browser_id", "task_owner"]
