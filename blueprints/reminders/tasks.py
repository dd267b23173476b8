"""The reminder fan-out, in Celery's canvas:

    chord(group(send_batch(run, ids) for each batch of REMINDER_BATCH_SIZE),
          write_report(run)).on_error(report_failed(run))

Beat's sweep (``reminders.dispatch_due``, every 15 s) starts one fan-out per
sale and opening time. A reminder goes by e-mail, or by SMS to users who log
in by phone. Each batch retries on its own, and only what it has not sent
yet: every reminder's outcome is written as it is known. The report is
counted from those outcomes, once. A batch that fails for good makes the
chord call ``report_failed``, which marks the report failed with the reason:
the chord never waits forever. (Celery's ``chunks`` primitive would run the
batches as ``celery.starmap`` tasks, which cannot retry on their own; the
batches here are explicit tasks for that reason.)

Chords need a result backend that counts natively: Redis (CELERY_RESULT_BACKEND).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial

from celery import chord, group, shared_task
from flask import Flask, current_app
from flask_babel import force_locale
from flask_mail import Message
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from blueprints.auth import sms
from blueprints.auth.errors import PermanentSendError, TransientSendError
from blueprints.core.i18n import DEFAULT_LANGUAGE
from blueprints.core.queueing import retry_later
from blueprints.reminders import service
from blueprints.reminders.mail import MailBatch, compose_for, opening_text
from blueprints.reminders.schemas import REPORT
from exts import db
from models import ReminderRun, SeckillActivity
from models.types import utcnow

log = logging.getLogger(__name__)

# The providers' rates: a window in Redis per channel, shared by every worker.
RATES = {"mail": "REMINDER_MAIL_RATE", "sms": "REMINDER_SMS_RATE"}
# Reminders sent between two writes of their outcomes. A commit per reminder
# made the fan-out slower than one plain loop (0.37x); a worker killed
# outright resends at most this many, while a batch stopped by a mail server
# error writes what went out first and resends nothing.
CHUNK = 50


@cache
def _limiter(storage_uri: str) -> MovingWindowRateLimiter:
    """On the rate limits' storage: the same Redis, found the same way (Sentinel)."""
    options = current_app.config["RATELIMIT_STORAGE_OPTIONS"]
    return MovingWindowRateLimiter(storage_from_string(storage_uri, **options))


def _wait_for_slots(channel: str, count: int) -> None:
    """Block until the channel's rate allows ``count`` more messages."""
    config = current_app.config
    rate = parse(config[RATES[channel]])
    limiter = _limiter(config["RATELIMIT_STORAGE_URI"])
    key = f"reminder-{channel}"
    while count > 0:
        taken = min(count, rate.amount)  # more than a window holds never fits
        while not limiter.hit(rate, key, cost=taken):
            reset_at = limiter.get_window_stats(rate, key).reset_time
            time.sleep(min(1.0, max(0.01, reset_at - time.time())))
        count -= taken


@shared_task(name="reminders.dispatch_due")
def dispatch_due() -> list[int]:
    """Start the fan-out of every sale opening within REMINDER_LEAD_SECONDS; the runs started."""
    lead = timedelta(seconds=current_app.config["REMINDER_LEAD_SECONDS"])
    started = []
    for run in service.stalled_runs(utcnow() - timedelta(minutes=1)):
        fan_out(run, service.pending_ids(run))  # what was sent is not sent again
        started.append(run.id)
    for sale in service.due_sales(utcnow(), lead):
        claimed = service.start_run(sale)
        if claimed is None:
            continue  # another sweep has it
        run, ids = claimed
        fan_out(run, ids)
        started.append(run.id)
    return started


def fan_out(run: ReminderRun, ids: list[int]) -> None:
    size = current_app.config["REMINDER_BATCH_SIZE"]
    batches = [send_batch.si(run.id, ids[i : i + size]) for i in range(0, len(ids), size)]
    report = write_report.si(run.id).on_error(report_failed.s(run.id))
    result = chord(group(batches))(report) if batches else report.delay()
    run.task_id = result.id
    db.session.commit()


@shared_task(name="reminders.send_batch", bind=True, ignore_result=False, max_retries=5,
             acks_late=True, reject_on_worker_lost=True)  # fmt: skip
def send_batch(self, run_id: int, reminder_ids: list[int]) -> dict:
    """Send the reminders among ``reminder_ids`` not yet handled; their outcomes."""
    run = db.session.get(ReminderRun, run_id)
    if run is None:
        return {"skipped": len(reminder_ids), "why": "the run is gone"}
    counts = Counter(sent=0, failed=0, skipped=0)
    # Plain values: each commit below expires the ORM objects, and the lanes
    # run in threads, which must not touch the session.
    pending = [(id_, user.email, user.phone, user.locale or DEFAULT_LANGUAGE)
               for id_, user in service.unsettled(run, reminder_ids)]  # fmt: skip
    if reason := service.stale_reason(run):
        counts.update(service.settle(run, [(id_, "skipped", reason) for id_, *_ in pending]))
        return dict(counts)
    sale = db.session.get_one(SeckillActivity, run.activity_id)  # not stale: it exists
    message = Reminder.of(sale, {locale for *_, locale in pending})
    lanes = [MailBatch() for _ in range(current_app.config["REMINDER_SMTP_CONNECTIONS"])]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        with contextlib.ExitStack() as stack, ThreadPoolExecutor(len(lanes)) as pool:
            for lane in lanes:
                stack.enter_context(lane)
            for start in range(0, len(pending), CHUNK):
                chunk = pending[start : start + CHUNK]
                for channel, count in Counter(
                    _channel(email, phone) for _, email, phone, _ in chunk
                ).items():
                    if channel:
                        _wait_for_slots(channel, count)
                parts = [chunk[n :: len(lanes)] for n in range(len(lanes))]
                results = list(pool.map(partial(_send_lane, app, message), lanes, parts))
                # What went out is written before anything else happens.
                counts.update(service.settle(run, [o for outcomes, _ in results for o in outcomes]))
                if errors := [error for _, error in results if error is not None]:
                    raise errors[0]
    except TransientSendError as error:
        # The rest of the batch, later: what went out is recorded and is not resent.
        log.warning("reminders of run %s: %s; retrying the rest", run_id, error)
        retry_later(self, error)
    return dict(counts)


@dataclass(frozen=True)
class Reminder:
    """What a reminder says in each language its users speak: the mail for an
    address, and the SMS template's values. Made before the lanes start: their
    threads must not touch the session."""

    mails: dict[str, Callable[[str], Message]]
    title: str
    opens: dict[str, str]

    @classmethod
    def of(cls, sale: SeckillActivity, locales: set[str]) -> Reminder:
        mails, opens = {}, {}
        for locale in locales:
            with force_locale(locale):
                mails[locale] = compose_for(sale)
                opens[locale] = opening_text(sale)
        return cls(mails, sale.title, opens)


def _channel(email: str | None, phone: str | None) -> str | None:
    return "mail" if email else "sms" if phone else None


Outcome = tuple[int, str, str | None]  # reminder id, outcome, detail
Recipient = tuple[int, str | None, str | None, str]  # reminder id, e-mail, phone, language


def _send_lane(
    app: Flask, message: Reminder, lane: MailBatch, part: list[Recipient]
) -> tuple[list[Outcome], TransientSendError | None]:
    """One SMTP connection's share of a chunk, in a thread: the outcomes, and
    the transient error that stopped it, if one did. Several connections hide
    the mail server's round trips, as a mail relay's concurrency does."""
    outcomes: list[Outcome] = []
    with app.app_context():
        for reminder_id, email, phone, locale in part:
            try:
                outcomes.append((reminder_id, *_remind(lane, message, email, phone, locale)))
            except PermanentSendError as error:
                outcomes.append((reminder_id, "failed", str(error)))
            except TransientSendError as error:
                return outcomes, error
    return outcomes, None


def _remind(
    lane: MailBatch, message: Reminder, email: str | None, phone: str | None, locale: str
) -> tuple[str, str]:
    """Mail the user, or text them if they have no address; (outcome, detail).
    The channel's rate was waited for already."""
    if email:
        lane.send(message.mails[locale](email))
        return "sent", "e-mail"
    if phone:
        with force_locale(locale):  # the console provider's text
            provider = sms.send_reminder_sms(phone, message.title, message.opens[locale])
        return "sent", f"SMS by {provider}"
    return "skipped", "no e-mail address or phone number"


@shared_task(name="reminders.write_report")
def write_report(run_id: int) -> dict | None:
    """The chord's callback: the report, counted from every reminder's outcome."""
    run = service.finish(run_id)
    return REPORT.dump(run) if run else None


@shared_task(name="reminders.report_failed")
def report_failed(request, exc, traceback, run_id: int) -> None:
    """The chord's error callback: a batch failed for good."""
    reason = f"{type(exc).__name__}: {exc}"
    log.error("reminder run %s failed: %s", run_id, reason)
    service.fail(run_id, reason)
