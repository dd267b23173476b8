"""The daily sales report: a chord of one task per sale on a real worker,
written once, mailed to the admins, shown to them; a failing sale fails it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from blueprints.reports import service
from blueprints.reports.schemas import DailyReportSchema
from exts import db
from models import AuditEntry, DailyReport, SaleReminder, SeckillActivity, SeckillOrder
from models.types import utcnow
from tests.helpers import wait_for
from tests.mailbox import text_part
from tests.seckill_helpers import make_buyers

pytestmark = pytest.mark.integration  # a chord on RabbitMQ with the Redis backend too


def yesterday_sale(app, title: str, hours: tuple[int, int] = (10, 11), days_ago: int = 1) -> int:
    """A sale open on a day in TIMEZONE, from and to those hours."""
    zone = ZoneInfo(app.config["TIMEZONE"])
    day = datetime.now(zone).date() - timedelta(days=days_ago)
    with app.app_context():
        start, end = (datetime.combine(day, time(hour), tzinfo=zone) for hour in hours)
        sale = SeckillActivity(title=title, product="Thing", price_cents=1000, total_stock=10,
                               starts_at=start, ends_at=end)  # fmt: skip
        db.session.add(sale)
        db.session.commit()
        return sale.id


def orders(app, sale_id: int, buyers: list[int], statuses: list[str]) -> None:
    now = utcnow()
    with app.app_context():
        db.session.execute(insert(SeckillOrder), [
            {"activity_id": sale_id, "user_id": user, "reservation_id": f"{sale_id}-{user}",
             "status": status, "amount_cents": 1000, "reserved_at": now, "created_at": now}
            for user, status in zip(buyers, statuses, strict=True)
        ])  # fmt: skip
        db.session.commit()


def finished(app, status: str = "done") -> dict:
    def read():
        with app.app_context():
            report = db.session.scalar(select(DailyReport))
            return DailyReportSchema().dump(report) if report and report.status == status else None

    return wait_for(read, 60, f"the report is {status}")


def test_the_daily_report_counts_each_sale_and_mails_the_admins(app, celery_app, worker, mailbox):
    first = yesterday_sale(app, "Morning sale")
    yesterday_sale(app, "Evening sale", hours=(20, 22))
    yesterday_sale(app, "Older sale", days_ago=3)  # not in yesterday's report
    buyers = make_buyers(app, 5, prefix="report")
    orders(app, first, buyers[:4], ["paid", "paid", "cancelled", "pending_payment"])
    with app.app_context():  # reminded: buyers 0 and 4; only 0 bought
        db.session.execute(insert(SaleReminder), [
            {"activity_id": first, "user_id": user, "created_at": utcnow(), "outcome": "sent"}
            for user in (buyers[0], buyers[4])
        ])  # fmt: skip
        db.session.commit()
    mark = mailbox.mark()

    celery_app.send_task("reports.daily")  # as beat sends it at 00:05
    report = finished(app)
    assert [sale["title"] for sale in report["sales"]] == ["Morning sale", "Evening sale"]
    morning = report["sales"][0]
    assert {k: morning[k] for k in ("orders", "paid", "cancelled", "unpaid", "revenue_cents")} == {
        "orders": 4, "paid": 2, "cancelled": 1, "unpaid": 1, "revenue_cents": 2000,
    }  # fmt: skip
    assert (morning["reminders_sent"], morning["reminded_buyers"]) == (2, 1)
    assert report["sales"][1]["orders"] == 0

    message = mailbox.wait_for("admin@example.com", since=mark)
    body = text_part(message)
    assert "Morning sale" in body and "revenue ¥20.00" in body
    wait_for(lambda: finished(app)["mailed_to"] == 1, 10, "the report is marked mailed")


def test_a_sale_whose_figures_fail_fails_the_report(app, celery_app, worker, monkeypatch):
    yesterday_sale(app, "Broken sale")

    def broken(sale_id: int) -> dict:
        raise ValueError(f"sale {sale_id} cannot be counted")

    monkeypatch.setattr(service, "sale_figures", broken)  # the in-process worker's
    celery_app.send_task("reports.daily")
    report = finished(app, status="failed")
    assert "cannot be counted" in report["error"]


def test_an_admin_computes_a_day_on_demand_and_mails_it_when_asked(app, admin, worker, mailbox):
    for day in ("yesterday", "2026-13-01", "2999-01-01"):
        assert admin.post("/api/admin/reports", json={"day": day}).status_code == 400
    today = datetime.now(ZoneInfo(app.config["TIMEZONE"])).date().isoformat()
    mark = mailbox.mark()
    response = admin.post("/api/admin/reports", json={"day": today})
    assert response.status_code == 202
    report = finished(app)
    assert report["day"] == today
    sleep(1)  # as long as beat's run takes to mail it
    listed = admin.get("/api/admin/reports").json["reports"]
    assert [r["day"] for r in listed] == [today]
    assert listed[0]["mailed_to"] == 0 and mailbox.mark() == mark, "computing mails no one"

    mailed = admin.post(f"/api/admin/reports/{report['id']}/mail", json={})
    assert mailed.status_code == 202, mailed.json
    assert mailbox.wait_for("admin@example.com", since=mark)
    wait_for(lambda: finished(app)["mailed_to"] == 1, 10, "the report is marked mailed")
    assert admin.post("/api/admin/reports/999999/mail", json={}).status_code == 404
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["report.run", "report.mail"]
