"""Sale reminders: shoppers ask on a sale's page; beat's sweep fans them out
by e-mail shortly before the sale opens (see tasks.py for the canvas)."""

from blueprints.reminders import tasks as _tasks  # noqa: F401  (registers the tasks)
from blueprints.reminders.api import blp

__all__ = ["blp"]
