"""The daily report, in Celery's canvas (beat sends ``reports.daily`` at 00:05
in TIMEZONE):

    chord(group(sale_figures(sale) for each sale open that day), save_report(report))
    with mail_report(report) linked to save_report

with ``report_failed`` as the error callback of both steps: a sale whose
figures cannot be computed marks the report failed with the reason.
"""

from __future__ import annotations

import logging
from datetime import date

from celery import chord, group, shared_task
from sqlalchemy.exc import OperationalError

from blueprints.reports import service
from exts import db
from models import DailyReport

log = logging.getLogger(__name__)


@shared_task(name="reports.daily")
def daily(day: str | None = None, mail: bool = True) -> int | None:
    """Compute ``day``'s report (yesterday in TIMEZONE unless given) and, unless
    told not to (an admin's Compute), mail it to the admins; its id."""
    report = service.start(date.fromisoformat(day) if day else service.yesterday())
    if report is None:
        return None  # being computed already
    on_error = report_failed.s(report.id)
    figures = [sale_figures.s(sale_id) for sale_id in service.sales_of(report.day)]
    # The mail is linked to the callback rather than chained after the chord:
    # in a chain, Celery moves the chord's callback into a new chain and its
    # error callback no longer fires.
    save = save_report.s(report.id).on_error(on_error)
    if mail:
        save.link(mail_report.si(report.id).on_error(on_error))
    if figures:
        chord(group(figures))(save)
    else:
        save.delay([])
    return report.id


@shared_task(name="reports.sale_figures", ignore_result=False, acks_late=True,
             autoretry_for=(OperationalError,), max_retries=3, retry_backoff=True)  # fmt: skip
def sale_figures(sale_id: int) -> dict:
    return service.sale_figures(sale_id)


@shared_task(name="reports.save_report", ignore_result=False)
def save_report(figures: list[dict], report_id: int) -> bool:
    """The chord's callback: every sale's figures, written once."""
    return service.save(report_id, figures)


@shared_task(name="reports.mail_report", autoretry_for=(OSError,), max_retries=3,
             retry_backoff=True)  # fmt: skip
def mail_report(report_id: int) -> int:
    """Mail the finished report to the admins; how many it went to."""
    report = db.session.get(DailyReport, report_id)
    if report is None or report.status != "done":
        return 0
    return service.mail_admins(report)


@shared_task(name="reports.report_failed")
def report_failed(request, exc, traceback, report_id: int) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    log.error("daily report %s failed: %s", report_id, reason)
    service.fail(report_id, reason)
