"""The operator's side of tasks: history in the database, the /admin/tasks
dashboard, queues, workers, and the audit log."""

from flask import Flask

from blueprints.ops import actions, live, metrics, recorder
from blueprints.ops import tasks as _tasks  # noqa: F401  (registers the tasks)
from blueprints.ops.api import blp
from blueprints.ops.pages import bp


def init_app(app: Flask) -> None:
    """Record this process's task changes and counts; in a worker, also send
    heartbeats and load recent revokes."""
    recorder.init_app(app)
    metrics.init_app(app)
    app.extensions["celery"].steps["consumer"].add(live.Heartbeat)
    actions.load_revoked(app)


__all__ = ["blp", "bp", "init_app"]
