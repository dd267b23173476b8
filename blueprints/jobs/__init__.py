"""Task status for the browser that queued the task: GET /api/tasks/<task_id>."""

from blueprints.jobs.api import QueuedSchema, blp, browser_id, task_owner

__all__ = ["QueuedSchema", "blp", "browser_id", "task_owner"]
