"""Sale reminders: subscribing, finding the sales about to open, sending one
reminder exactly once, and the report of a fan-out."""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis as redis_lib
from flask import current_app, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_mail import Message
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.api import Refused
from blueprints.auth.errors import TransientSendError
from blueprints.auth.mail import classify_smtp_error
from blueprints.i18n import shop_time
from exts import db, mail, redis_client
from models import ReminderRun, SaleReminder, SeckillActivity, User
from models.reminder import OUTCOMES
from models.types import utcnow


def progress_key(run_id: int) -> str:
    """Counts of a running fan-out, for the admin's progress bar."""
    return f"reminders:v1:run:{run_id}"


def upcoming_sale(activity_id: int) -> SeckillActivity:
    sale = db.get_or_404(SeckillActivity, activity_id, description=_("This sale does not exist."))
    if sale.status != "active" or sale.starts_at <= utcnow():
        raise Refused("not_upcoming", _("This sale has opened already: no reminder is needed."))
    return sale


def subscribe(activity_id: int, user_id: int) -> bool:
    """Remind ``user_id`` before the sale opens; whether it is new."""
    upcoming_sale(activity_id)
    db.session.add(SaleReminder(activity_id=activity_id, user_id=user_id))
    try:
        db.session.commit()
    except IntegrityError:  # asked before (or twice at once): one reminder
        db.session.rollback()
        return False
    return True


def went_out(activity_id: int) -> bool:
    """Whether the sale's reminders for its current opening have been sent
    (someone asking now is too late for them)."""
    query = select(ReminderRun.id).join(
        SeckillActivity,
        (SeckillActivity.id == ReminderRun.activity_id)
        & (SeckillActivity.starts_at == ReminderRun.starts_at),
    )
    return db.session.scalar(query.where(ReminderRun.activity_id == activity_id)) is not None


def unsubscribe(activity_id: int, user_id: int) -> None:
    db.session.execute(
        SaleReminder.__table__.delete().where(
            SaleReminder.activity_id == activity_id, SaleReminder.user_id == user_id
        )
    )
    db.session.commit()


def is_subscribed(activity_id: int, user_id: int) -> bool:
    query = select(SaleReminder.id).where(
        SaleReminder.activity_id == activity_id, SaleReminder.user_id == user_id
    )
    return db.session.scalar(query) is not None


def subscriber_count(activity_id: int) -> int:
    query = select(func.count()).where(SaleReminder.activity_id == activity_id)
    return db.session.scalar(query) or 0


def due_sales(now: datetime, lead: timedelta) -> list[SeckillActivity]:
    """Active sales opening within ``lead`` that have no fan-out for that opening yet."""
    already = select(ReminderRun.id).where(
        ReminderRun.activity_id == SeckillActivity.id,
        ReminderRun.starts_at == SeckillActivity.starts_at,
    )
    query = select(SeckillActivity).where(
        SeckillActivity.status == "active",
        SeckillActivity.starts_at > now,
        SeckillActivity.starts_at <= now + lead,
        ~already.exists(),
    )
    return list(db.session.scalars(query))


def start_run(sale: SeckillActivity) -> tuple[ReminderRun, list[int]] | None:
    """Claim the fan-out for this opening, with the reminders it is to send;
    None if another sweep claimed it first."""
    run = ReminderRun(activity_id=sale.id, starts_at=sale.starts_at)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    ids = pending_ids(run)
    run.total = len(ids)
    db.session.commit()
    return run, ids


def pending_ids(run: ReminderRun) -> list[int]:
    """The sale's reminders not handled yet for the run's opening."""
    query = select(SaleReminder.id).where(
        SaleReminder.activity_id == run.activity_id,
        or_(SaleReminder.handled_for.is_(None), SaleReminder.handled_for != run.starts_at),
    )
    return list(db.session.scalars(query.order_by(SaleReminder.id)))


def stalled_runs(before: datetime) -> list[ReminderRun]:
    """Runs claimed before ``before`` whose fan-out was never queued (the
    sweep died between the two): they are fanned out again."""
    query = select(ReminderRun).where(
        ReminderRun.status == "running",
        ReminderRun.task_id.is_(None),
        ReminderRun.started_at < before,
    )
    return list(db.session.scalars(query))


def stale_reason(run: ReminderRun) -> str | None:
    """Why the run's reminders must not go out now, if they must not."""
    sale = db.session.get(SeckillActivity, run.activity_id)
    if sale is None or sale.status != "active":
        return "the sale was closed"
    if sale.starts_at != run.starts_at:
        return "the sale was moved"
    if sale.starts_at <= utcnow():
        return "the sale has opened"
    return None


def settle(run: ReminderRun, outcomes: list[tuple[int, str, str | None]]) -> Counter[str]:
    """Record the outcomes (reminder id, outcome, detail) for this opening, each
    reminder once, in one transaction; how many of each this call recorded."""
    groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for reminder_id, outcome, detail in outcomes:
        groups[(outcome, detail and detail[:300])].append(reminder_id)
    recorded: Counter[str] = Counter()
    for (outcome, detail), ids in groups.items():
        done: CursorResult = db.session.execute(  # type: ignore[assignment]
            update(SaleReminder)
            .where(
                SaleReminder.id.in_(ids),
                or_(SaleReminder.handled_for.is_(None), SaleReminder.handled_for != run.starts_at),
            )
            .values(handled_for=run.starts_at, outcome=outcome, detail=detail)
        )
        recorded[outcome] += done.rowcount
    db.session.commit()
    if recorded:
        with contextlib.suppress(redis_lib.RedisError):  # the bar only; the report counts rows
            pipe = redis_client.pipeline(transaction=False)
            for outcome, count in recorded.items():
                pipe.hincrby(progress_key(run.id), outcome, count)
            pipe.execute()
    return recorded


def unsettled(run: ReminderRun, ids: list[int]) -> list[tuple[int, User]]:
    """The reminders among ``ids`` not yet handled for this opening, with their users."""
    query = (
        select(SaleReminder.id, User)
        .join(User, User.id == SaleReminder.user_id)
        .where(
            SaleReminder.id.in_(ids),
            or_(SaleReminder.handled_for.is_(None), SaleReminder.handled_for != run.starts_at),
        )
        .order_by(SaleReminder.id)
    )
    return [(reminder_id, user) for reminder_id, user in db.session.execute(query)]


def opening_text(sale: SeckillActivity) -> str:
    """When the sale opens, as shoppers read it: in TIMEZONE, named."""
    return shop_time(sale.starts_at)


PLACEHOLDER = "recipient@reminder.invalid"


class _Copy(Message):
    """A copy of a serialized reminder: the bytes are the template's, with this
    copy's To and Message-ID. Serializing MIME took half a worker's time."""

    template: bytes = b""
    template_id = ""

    def as_bytes(self) -> bytes:
        return self.template.replace(
            PLACEHOLDER.encode(), str(self.recipients[0]).encode(), 1
        ).replace(self.template_id.encode(), self.msgId.encode(), 1)


def reminder_mail(sale: SeckillActivity) -> Callable[[str], Message]:
    """The sale's reminder for an address: rendered and serialized once (nothing
    in it is the recipient's), addressed per recipient."""
    minutes = max(1, round((sale.starts_at - utcnow()).total_seconds() / 60))
    context = {
        "sale": sale,
        "opens": opening_text(sale),
        "sale_url": f"{current_app.config['PUBLIC_URL']}/seckill/{sale.id}",
        "minutes": minutes,
    }
    subject = ngettext(
        "“%(title)s” opens in %(num)d minute", "“%(title)s” opens in %(num)d minutes",
        minutes, title=sale.title,
    )  # fmt: skip
    body = render_template("mail/reminder.txt", **context)
    html = render_template("mail/reminder.html", **context)
    date = time.time()

    def build(kind: type[Message], address: str) -> Message:
        return kind(subject=subject, recipients=[address], body=body, html=html, date=date)

    template = build(Message, PLACEHOLDER)
    serialized = template.as_bytes()

    def compose(address: str) -> Message:
        if not address.isascii() or not address.isprintable():  # stored addresses are ASCII
            return build(Message, address)
        copy = build(_Copy, address)
        copy.template, copy.template_id = serialized, template.msgId  # type: ignore[attr-defined]
        return copy

    return compose


class MailBatch:
    """One SMTP connection for a batch of reminders, opened by its first mail
    (a batch of texts needs none)."""

    def __init__(self) -> None:
        self.connection: Any = None

    def __enter__(self) -> MailBatch:
        return self

    def send(self, message: Message) -> None:
        try:
            if self.connection is None:
                self.connection = mail.connect().__enter__()
            self.connection.send(message)
        except smtplib.SMTPException as error:
            raise classify_smtp_error(error) from None
        except OSError as error:  # refused, reset, timed out
            raise TransientSendError(f"SMTP: {error.__class__.__name__}: {error}") from None

    def __exit__(self, *exc: Any) -> None:
        if self.connection is not None:
            # The mails went; a QUIT that fails changes nothing.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.__exit__(None, None, None)


def finish(run_id: int) -> ReminderRun | None:
    """Write the report from the reminders' recorded outcomes, once."""
    run = db.session.get(ReminderRun, run_id)
    if run is None or run.status != "running":
        return run
    counts = dict(
        db.session.execute(
            select(SaleReminder.outcome, func.count())
            .where(SaleReminder.activity_id == run.activity_id)
            .where(SaleReminder.handled_for == run.starts_at)
            .group_by(SaleReminder.outcome)
        ).all()
    )
    done: CursorResult = db.session.execute(  # type: ignore[assignment]
        update(ReminderRun)
        .where(ReminderRun.id == run_id, ReminderRun.status == "running")
        .values(
            status="done",
            finished_at=utcnow(),
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            skipped=counts.get("skipped", 0),
        )  # fmt: skip
    )
    db.session.commit()
    if done.rowcount:
        redis_client.delete(progress_key(run_id))
    return db.session.get(ReminderRun, run_id)


def fail(run_id: int, reason: str) -> None:
    """Mark the fan-out failed with its reason (what was sent stays recorded)."""
    db.session.execute(
        update(ReminderRun)
        .where(ReminderRun.id == run_id, ReminderRun.status == "running")
        .values(status="failed", finished_at=utcnow(), error=reason[:2000])
    )
    db.session.commit()


def latest_run(activity_id: int) -> dict | None:
    """The sale's last fan-out; while it runs, its progress so far."""
    query = select(ReminderRun).where(ReminderRun.activity_id == activity_id)
    run = db.session.scalar(query.order_by(ReminderRun.id.desc()).limit(1))
    if run is None:
        return None
    answer = run.to_json()
    if run.status == "running":
        counts = {k: int(v) for k, v in redis_client.hgetall(progress_key(run.id)).items()}
        answer.update({outcome: counts.get(outcome, 0) for outcome in OUTCOMES})
    handled = answer["sent"] + answer["failed"] + answer["skipped"]
    answer["percent"] = 100 if not run.total else min(100, round(100 * handled / run.total))
    return answer
