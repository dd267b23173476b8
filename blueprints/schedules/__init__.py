"""Beat's schedule in the database, edited at /admin/schedules while beat runs;
one beat sends at a time (beat.DatabaseScheduler)."""

from blueprints.schedules.api import blp
from blueprints.schedules.pages import bp

__all__ = ["blp", "bp"]
