"""Sale reminders: who asked to be told before a sale opens, and each fan-out."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import UTCDateTime, utcnow

OUTCOMES = ("sent", "failed", "skipped")
RUN_STATUSES = ("running", "done", "failed")  # a fan-out's, and a daily report's


def percent_handled(total: int, handled: int) -> int:
    return 100 if not total else min(100, round(100 * handled / total))


class SaleReminder(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """A user's wish to be reminded before a sale opens."""

    __tablename__ = "sale_reminders"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", name="uq_sale_reminders_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("seckill_activities.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    # The opening it was handled for: a sale moved later is reminded of again.
    handled_for: Mapped[UTCDateTime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))  # one of OUTCOMES
    detail: Mapped[str | None] = mapped_column(String(300))  # why it failed or was skipped


class ReminderRun(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """One fan-out of a sale's reminders, for one opening time, and its report."""

    __tablename__ = "reminder_runs"
    # One fan-out per opening, however many sweeps see the sale due.
    __table_args__ = (
        UniqueConstraint("activity_id", "starts_at", name="uq_reminder_runs_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("seckill_activities.id"), index=True)
    starts_at: Mapped[UTCDateTime]
    status: Mapped[str] = mapped_column(String(16), default="running")  # one of RUN_STATUSES
    total: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(64))  # the chord's report task
    started_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    finished_at: Mapped[UTCDateTime | None]

    @property
    def percent(self) -> int:
        return percent_handled(self.total, self.sent + self.failed + self.skipped)
