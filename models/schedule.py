"""Periodic entries: what beat sends and when, editable while it runs."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import PreciseUTCDateTime, utcnow

KINDS = ("interval", "crontab", "once")


class PeriodicEntry(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """One entry of beat's schedule: a task, its arguments, and when it runs."""

    __tablename__ = "periodic_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(200))
    args: Mapped[str] = mapped_column(Text, default="[]")  # a JSON list
    kwargs: Mapped[str] = mapped_column(Text, default="{}")  # a JSON object
    queue: Mapped[str | None] = mapped_column(String(200))  # None: the task's own route
    kind: Mapped[str] = mapped_column(String(16))  # one of KINDS
    every_seconds: Mapped[float | None]  # interval
    crontab: Mapped[str | None] = mapped_column(String(200))  # "minute hour day month weekday"
    timezone: Mapped[str | None] = mapped_column(String(64))  # the crontab's; None: TIMEZONE
    run_at: Mapped[PreciseUTCDateTime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[PreciseUTCDateTime | None]
    description: Mapped[str] = mapped_column(Text, default="")
    # The product's own entries: they can be edited and disabled, not deleted.
    builtin: Mapped[bool] = mapped_column(default=False)
    last_run_at: Mapped[PreciseUTCDateTime | None]
    total_runs: Mapped[int] = mapped_column(default=0)
    # The schedule counts from here: creation, a change of timing, enabling.
    # So an edit never makes an entry due at once, nor several times.
    due_from: Mapped[PreciseUTCDateTime] = mapped_column(default=utcnow)
    created_at: Mapped[PreciseUTCDateTime] = mapped_column(default=utcnow)
    # A change of the definition (not of last_run_at): beat reloads when it moves.
    changed_at: Mapped[PreciseUTCDateTime] = mapped_column(default=utcnow)
    # Why beat skips the entry (written by beat; None when it runs).
    problem: Mapped[str | None] = mapped_column(Text)
