"""The daily sales report: computed at 00:05 in TIMEZONE by a chord of one
task per sale, mailed to the admins, and shown on /admin/reports."""

from blueprints.reports import tasks as _tasks  # noqa: F401  (registers the tasks)
from blueprints.reports.api import blp
from blueprints.reports.pages import bp

__all__ = ["blp", "bp"]
