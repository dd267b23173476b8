"""The daily sales report: each sale's figures for one day in TIMEZONE."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import UTCDateTime, utcnow


class DailyReport(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    __tablename__ = "daily_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)  # in TIMEZONE
    status: Mapped[str] = mapped_column(String(16), default="running")  # RUN_STATUSES
    figures: Mapped[str | None] = mapped_column(Text)  # JSON: a list, one item per sale
    error: Mapped[str | None] = mapped_column(Text)
    mailed_to: Mapped[int] = mapped_column(default=0)  # admins it was mailed to
    started_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    finished_at: Mapped[UTCDateTime | None]

    @property
    def sales(self) -> list[dict]:
        """The figures, one item per sale."""
        return json.loads(self.figures) if self.figures else []
