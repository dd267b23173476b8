"""Progress of long tasks, as ``GET /api/tasks/<id>`` reports it."""

from __future__ import annotations

import time

from celery import Task

PROGRESS = "PROGRESS"


class Progress:
    """Writes ``{"current", "total", "percent", "description"}`` to the result
    backend with state PROGRESS (the shape Flask's Celery example and
    celery-progress use), at most once every ``every`` seconds: a tight loop
    reporting each row would spend more time on Redis than on its work."""

    def __init__(self, task: Task, total: int, description: str, every: float = 0.5) -> None:
        self.task, self.total, self.description, self.every = task, total, description, every
        self.written_at: float | None = None

    def update(self, current: int, description: str | None = None) -> None:
        now = time.monotonic()
        if self.written_at is not None and now - self.written_at < self.every:
            return
        self.written_at = now
        self.description = description or self.description
        self.task.update_state(state=PROGRESS, meta=self.meta(current))

    def meta(self, current: int) -> dict:
        percent = 100.0 if self.total == 0 else round(100 * current / self.total, 1)
        return {"current": current, "total": self.total, "percent": percent,
                "description": self.description}  # fmt: skip
