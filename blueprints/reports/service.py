"""The daily sales report: which sales ran on a day, each one's figures, the
report row, and the mail to the admins."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_mail import Message
from sqlalchemy import CursorResult, distinct, func, select, update
from sqlalchemy.exc import IntegrityError

from exts import db, mail
from models import DailyReport, SaleReminder, SeckillActivity, SeckillOrder
from models.types import utcnow

BOUGHT = ("pending_payment", "paid")


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def yesterday() -> date:
    """The day that has just ended in TIMEZONE (the report runs at 00:05)."""
    return datetime.now(zone()).date() - timedelta(days=1)


def window(day: date) -> tuple[datetime, datetime]:
    """The day's start and end, as UTC instants (23 or 25 hours where clocks change)."""
    start = datetime.combine(day, time(0), tzinfo=zone())
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone())
    return start, end


def sales_of(day: date) -> list[int]:
    """The sales open at some moment of ``day``."""
    start, end = window(day)
    query = select(SeckillActivity.id).where(
        SeckillActivity.starts_at < end, SeckillActivity.ends_at > start
    )
    return list(db.session.scalars(query.order_by(SeckillActivity.id)))


def sale_figures(sale_id: int) -> dict:
    """One sale's orders, payments, revenue and reminders."""
    sale = db.session.get_one(SeckillActivity, sale_id)
    orders = dict(
        db.session.execute(
            select(SeckillOrder.status, func.count())
            .where(SeckillOrder.activity_id == sale_id)
            .group_by(SeckillOrder.status)
        ).all()
    )
    revenue = db.session.scalar(
        select(func.coalesce(func.sum(SeckillOrder.amount_cents), 0)).where(
            SeckillOrder.activity_id == sale_id, SeckillOrder.status == "paid"
        )
    )
    reminded = select(SaleReminder.user_id).where(
        SaleReminder.activity_id == sale_id, SaleReminder.outcome == "sent"
    )
    reminders_sent = db.session.scalar(select(func.count()).select_from(reminded.subquery()))
    reminded_buyers = db.session.scalar(
        select(func.count(distinct(SeckillOrder.user_id))).where(
            SeckillOrder.activity_id == sale_id,
            SeckillOrder.status.in_(BOUGHT),
            SeckillOrder.user_id.in_(reminded),
        )
    )
    return {
        "sale_id": sale.id,
        "title": sale.title,
        "orders": sum(orders.values()),
        "paid": orders.get("paid", 0),
        "cancelled": orders.get("cancelled", 0),
        "unpaid": orders.get("pending_payment", 0),
        "revenue_cents": int(revenue or 0),
        "reminders_sent": reminders_sent or 0,
        "reminded_buyers": reminded_buyers or 0,
    }


def start(day: date) -> DailyReport | None:
    """A new report row for ``day``, replacing a finished one; None if one is
    being computed already (the 00:05 run and an admin's, say)."""
    existing = db.session.scalar(select(DailyReport).where(DailyReport.day == day))
    if existing is not None:
        if existing.status == "running" and utcnow() - existing.started_at < timedelta(hours=1):
            return None
        db.session.delete(existing)
        db.session.flush()
    report = DailyReport(day=day)
    db.session.add(report)
    try:
        db.session.commit()
    except IntegrityError:  # another started it at the same moment
        db.session.rollback()
        return None
    return report


def save(report_id: int, figures: list[dict]) -> bool:
    """Write the figures, once; whether this call did."""
    ordered = sorted(figures, key=lambda figure: figure["sale_id"])
    done: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(DailyReport)
        .where(DailyReport.id == report_id, DailyReport.status == "running")
        .values(status="done", figures=json.dumps(ordered), finished_at=utcnow())
    )
    db.session.commit()
    return bool(done.rowcount)


def fail(report_id: int, reason: str) -> None:
    db.session.execute(
        update(DailyReport)
        .where(DailyReport.id == report_id, DailyReport.status == "running")
        .values(status="failed", error=reason[:2000], finished_at=utcnow())
    )
    db.session.commit()


def mail_admins(report: DailyReport) -> int:
    """Mail the report to ADMIN_EMAILS; how many it went to."""
    admins = current_app.config["ADMIN_EMAILS"]
    if not admins:
        return 0
    context = {"report": report, "zone": zone().key}
    message = Message(
        subject=f"Flash Shop sales on {report.day.isoformat()}",
        recipients=admins,
        body=render_template("mail/daily_report.txt", **context),
        html=render_template("mail/daily_report.html", **context),
    )
    mail.send(message)
    report.mailed_to = len(admins)
    db.session.commit()
    return len(admins)


def recent(limit: int = 30) -> list[DailyReport]:
    query = select(DailyReport).order_by(DailyReport.day.desc()).limit(limit)
    return list(db.session.scalars(query))
