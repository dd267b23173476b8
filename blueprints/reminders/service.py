"""Sale reminders: subscribing, finding the sales about to open, sending one
reminder exactly once, and the report of a fan-out."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import redis as redis_lib
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.core.api import Refused
from blueprints.reminders.keys import progress_key
from blueprints.reminders.schemas import REPORT
from exts import db, redis_client
from models import ReminderRun, SaleReminder, SeckillActivity, User
from models.reminder import OUTCOMES, percent_handled
from models.types import utcnow


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
    answer = REPORT.dump(run)
    if run.status == "running":  # the counts so far are in Redis until the report
        progress = redis_client.hgetall(progress_key(run.id))
        answer.update({outcome: int(progress.get(outcome, 0)) for outcome in OUTCOMES})
        answer["percent"] = percent_handled(run.total, sum(answer[o] for o in OUTCOMES))
    return answer
