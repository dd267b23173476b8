"""Sale reminders: a shopper asks on the sale's page; the fan-out (a chord of
batches on a real worker, mailing a real SMTP server) sends each reminder
once, skips a moved sale's, and reports what happened, failures included."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import insert, select, update

from blueprints.reminders import service, tasks
from exts import db
from models import ReminderRun, SaleReminder, SeckillActivity, User
from models.types import utcnow
from tests.helpers import wait_for
from tests.mailbox import text_part
from tests.seckill_helpers import make_buyers, open_sale

pytestmark = pytest.mark.integration  # a chord on RabbitMQ with the Redis backend too


def subscribe_all(app, activity_id: int, user_ids: list[int]) -> None:
    with app.app_context():
        rows = [
            {"activity_id": activity_id, "user_id": u, "created_at": utcnow()} for u in user_ids
        ]
        db.session.execute(insert(SaleReminder), rows)
        db.session.commit()


def report(app, activity_id: int, status: str = "done", timeout: float = 60) -> dict:
    def read():
        with app.app_context():
            run = service.latest_run(activity_id)
            return run if run and run["status"] == status else None

    return wait_for(read, timeout, f"the reminder report is {status}")


def test_a_shopper_asks_for_a_reminder_and_cancels_it(app, client, login_as):
    upcoming = open_sale(app, 5, starts_in=3600)
    path = f"/api/seckill/{upcoming}/reminder"
    assert client.post(path, json={}).status_code == 401
    login_as("shopper@example.com")
    assert client.get(path).json == {"subscribed": False}
    assert client.post(path, json={}).status_code == 201
    assert client.post(path, json={}).status_code == 200  # asked twice: one reminder
    assert client.get(path).json == {"subscribed": True}
    assert client.delete(path, json={}).json == {"subscribed": False}
    assert client.get(path).json == {"subscribed": False}

    already_open = open_sale(app, 5, starts_in=-60)
    refused = client.post(f"/api/seckill/{already_open}/reminder", json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "not_upcoming"
    assert client.post("/api/seckill/999999/reminder", json={}).status_code == 404


def test_reminders_go_out_once_before_the_sale_opens(
    app, admin, celery_app, worker, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "REMINDER_BATCH_SIZE", 2)  # three batches
    sale_id = open_sale(app, 5, starts_in=240, title="Keyboard sale")  # within 5 minutes
    later = open_sale(app, 5, starts_in=3600)  # not yet
    buyers = make_buyers(app, 4, prefix="reminded")
    with app.app_context():  # and one who logged in by phone: a text (console provider here)
        db.session.add(phone_user := User(phone="+8613800138000"))
        db.session.commit()
        buyers.append(phone_user.id)
    subscribe_all(app, sale_id, buyers)
    subscribe_all(app, later, buyers[:1])
    mark = mailbox.mark()

    celery_app.send_task("reminders.dispatch_due")  # as beat sends it
    done = report(app, sale_id)
    assert (done["total"], done["sent"], done["failed"], done["skipped"]) == (5, 5, 0, 0)
    mails = mailbox.messages[mark:]
    assert sorted(m["X-Rcpt-To"] for m in mails) == [f"reminded{n}@example.com" for n in range(4)]
    # The admin's sales list shows who asked and the report.
    overview = next(s for s in admin.get("/api/admin/sales").json["sales"] if s["id"] == sale_id)
    assert overview["reminders"]["subscribers"] == 5
    assert overview["reminders"]["last_run"]["percent"] == 100
    subject = str(make_header(decode_header(mails[0]["Subject"])))
    assert subject == "“Keyboard sale” opens in 4 minutes"
    assert f"/seckill/{sale_id}" in text_part(mails[0])

    with app.app_context():
        assert tasks.dispatch_due() == []  # the next sweep: one fan-out per opening
        assert (
            db.session.scalar(select(ReminderRun.id).where(ReminderRun.activity_id == later))
            is None
        )
        texted = db.session.scalar(
            select(SaleReminder).where(SaleReminder.user_id == phone_user.id)
        )
        assert (texted.outcome, texted.detail) == ("sent", "SMS by console")


def test_a_retried_batch_sends_only_what_it_had_not(app, celery_app, worker, mailbox):
    sale_id = open_sale(app, 5, starts_in=240)
    subscribe_all(app, sale_id, make_buyers(app, 5, prefix="retried"))
    mark = mailbox.mark()
    mailbox.fail_next(1, after=2)  # the third mail is refused for now (421)
    celery_app.send_task("reminders.dispatch_due")
    done = report(app, sale_id)
    assert done["sent"] == 5
    addresses = [m["X-Rcpt-To"] for m in mailbox.messages[mark:]]
    assert sorted(addresses) == [f"retried{n}@example.com" for n in range(5)]  # each once


def test_a_moved_sale_sends_no_stale_reminders(app, worker, mailbox):
    sale_id = open_sale(app, 5, starts_in=240)
    subscribe_all(app, sale_id, make_buyers(app, 3, prefix="moved"))
    mark = mailbox.mark()
    with app.app_context():
        sale = db.session.get(SeckillActivity, sale_id)
        run, ids = service.start_run(sale)
        # Moved to tomorrow between the sweep and the batches.
        db.session.execute(
            update(SeckillActivity).values(starts_at=sale.starts_at + timedelta(days=1))
        )
        db.session.commit()
        tasks.fan_out(run, ids)
    done = report(app, sale_id)
    assert (done["sent"], done["skipped"]) == (0, 3)
    assert mailbox.messages[mark:] == []
    with app.app_context():
        details = set(db.session.scalars(select(SaleReminder.detail)))
    assert details == {"the sale was moved"}


def test_a_batch_that_fails_for_good_marks_the_report_failed(app, worker, mailbox, monkeypatch):
    sale_id = open_sale(app, 5, starts_in=240)
    subscribe_all(app, sale_id, make_buyers(app, 3, prefix="unlucky"))
    monkeypatch.setattr(tasks.send_batch, "max_retries", 1)
    mailbox.fail_next(10)  # the mail server refuses everything for a while
    with app.app_context():
        run, ids = service.start_run(db.session.get(SeckillActivity, sale_id))
        tasks.fan_out(run, ids)
    failed = report(app, sale_id, status="failed")
    assert "421" in failed["error"], failed["error"]


def test_a_sweep_that_died_before_fanning_out_is_taken_over(app, celery_app, worker, mailbox):
    sale_id = open_sale(app, 5, starts_in=240)
    subscribe_all(app, sale_id, make_buyers(app, 2, prefix="stalled"))
    with app.app_context():  # claimed, then the sweep's worker died
        run, _ = service.start_run(db.session.get(SeckillActivity, sale_id))
        run.started_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    mark = mailbox.mark()
    celery_app.send_task("reminders.dispatch_due")
    assert report(app, sale_id)["sent"] == 2
    assert len(mailbox.messages[mark:]) == 2


def test_asking_after_the_reminders_went_out_says_so(app, client, login_as, worker, mailbox):
    sale_id = open_sale(app, 5, starts_in=240)
    login_as("late@example.com")
    path = f"/api/seckill/{sale_id}/reminder"
    assert client.post(path, json={}).json == {"subscribed": True, "sent_already": False}
    client.delete(path, json={})
    with app.app_context():
        service.start_run(db.session.get(SeckillActivity, sale_id))  # the sweep ran
    assert client.post(path, json={}).json == {"subscribed": True, "sent_already": True}


def test_each_reminder_speaks_its_user_s_language(app, celery_app, worker, mailbox):
    sale_id = open_sale(app, 5, starts_in=240, title="键盘抢购", price_cents=4900)
    buyers = make_buyers(app, 2, prefix="speaker")
    with app.app_context():
        db.session.execute(update(User).where(User.id == buyers[0]).values(locale="zh_Hans"))
        db.session.commit()
    subscribe_all(app, sale_id, buyers)
    mark = mailbox.mark()
    celery_app.send_task("reminders.dispatch_due")
    report(app, sale_id)
    mails = {m["X-Rcpt-To"]: m for m in mailbox.messages[mark:]}
    chinese, english = mails["speaker0@example.com"], mails["speaker1@example.com"]
    assert str(make_header(decode_header(chinese["Subject"]))) == "“键盘抢购”将在 4 分钟后开始"
    assert "中国标准时间 (UTC+8)" in text_part(chinese) and "¥49.00" in text_part(chinese)
    assert str(make_header(decode_header(english["Subject"]))) == "“键盘抢购” opens in 4 minutes"
    assert "China Standard Time (UTC+8)" in text_part(english) and "¥49.00" in text_part(english)
