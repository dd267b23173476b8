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

import logging
import random
import time
from datetime import timedelta
from functools import cache

from celery import chord, group, shared_task
from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from blueprints.auth import sms
from blueprints.auth.errors import PermanentSendError, TransientSendError
from blueprints.reminders import service
from exts import db
from models import ReminderRun, SeckillActivity, User
from models.types import utcnow

log = logging.getLogger(__name__)

# The providers' rates: a window in Redis per channel, shared by every worker.
RATES = {"mail": "REMINDER_MAIL_RATE", "sms": "REMINDER_SMS_RATE"}


@cache
def _limiter(redis_url: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(redis_url))


def _wait_for_slot(channel: str) -> None:
    """Block until the channel's rate allows one more message."""
    config = current_app.config
    rate = parse(config[RATES[channel]])
    limiter = _limiter(config["REDIS_URL"])
    key = f"reminder-{channel}"
    while not limiter.hit(rate, key):
        reset_at = limiter.get_window_stats(rate, key).reset_time
        time.sleep(min(1.0, max(0.01, reset_at - time.time())))


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
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    pending = service.unsettled(run, reminder_ids)
    if reason := service.stale_reason(run):
        for reminder_id, _ in pending:
            counts["skipped"] += service.settle(run, reminder_id, "skipped", reason)
        return counts
    sale = db.session.get_one(SeckillActivity, run.activity_id)  # not stale: it exists
    try:
        with service.MailBatch() as batch:
            for reminder_id, user in pending:
                try:
                    outcome, detail = _remind(batch, sale, user)
                except PermanentSendError as error:
                    outcome, detail = "failed", str(error)
                counts[outcome] += service.settle(run, reminder_id, outcome, detail)
    except TransientSendError as error:
        # The rest of the batch, later: what went out is recorded and is not resent.
        log.warning("reminders of run %s: %s; retrying the rest", run_id, error)
        delay = min(60.0, 2.0 * 2**self.request.retries)
        raise self.retry(exc=error, countdown=delay / 2 + random.uniform(0, delay / 2)) from None
    return counts


def _remind(batch: service.MailBatch, sale: SeckillActivity, user: User) -> tuple[str, str]:
    """Mail the user, or text them if they have no address; (outcome, detail)."""
    if user.email:
        _wait_for_slot("mail")
        batch.send(service.reminder_message(sale, user.email))
        return "sent", "e-mail"
    if user.phone:
        _wait_for_slot("sms")
        provider = sms.send_reminder_sms(user.phone, sale.title, service.opening_text(sale))
        return "sent", f"SMS by {provider}"
    return "skipped", "no e-mail address or phone number"


@shared_task(name="reminders.write_report")
def write_report(run_id: int) -> dict | None:
    """The chord's callback: the report, counted from every reminder's outcome."""
    run = service.finish(run_id)
    return run.to_json() if run else None


@shared_task(name="reminders.report_failed")
def report_failed(request, exc, traceback, run_id: int) -> None:
    """The chord's error callback: a batch failed for good."""
    reason = f"{type(exc).__name__}: {exc}"
    log.error("reminder run %s failed: %s", run_id, reason)
    service.fail(run_id, reason)
