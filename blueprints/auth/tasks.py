"""Send tasks: the web answers at once, the worker talks to the slow providers.

Arguments are the target and the sealed (encrypted) code, never the code
itself. Acks are late: a send whose worker was killed is handed to another
worker (RabbitMQ at once, Redis after the broker's visibility timeout). A
repeat is harmless: it mails the same code again, and a send whose code was
replaced, used or has expired meanwhile is skipped rather than mail a dead code.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Task, shared_task
from flask import current_app
from flask_babel import force_locale

from blueprints.auth import mail, sms
from blueprints.auth.errors import PermanentSendError, TransientSendError
from blueprints.auth.service import code_store, unseal
from blueprints.auth.targets import mask
from blueprints.core.i18n import DEFAULT_LANGUAGE
from blueprints.core.queueing import retry_later
from blueprints.ops import metrics
from blueprints.ops.redaction import SECRET

SEND_OPTIONS = dict(
    bind=True,
    ignore_result=False,
    max_retries=4,
    acks_late=True,
    reject_on_worker_lost=True,
    # Task history keeps who was sent a code only in part, and never the code.
    redact={"target": mask, "sealed_code": SECRET, "holder": SECRET},
)


def _code(sealed_code: str) -> str:
    config = current_app.config
    code = unseal(config["SECRET_KEY"], sealed_code, max_age=config["CODE_TTL"])
    if code is None:
        raise PermanentSendError("the code expired before it could be sent")
    return code


def _stale(target: str, code: str, purpose: str, holder: str) -> dict | None:
    """The task's result when ``code`` can no longer log anyone in, else None."""
    if code_store().is_current(target, purpose, code, holder):
        return None
    return {"to": mask(target), "skipped": "a newer code replaced it, or it was used or expired"}


def _send(task: Task, channel: str, target: str, sealed_code: str, purpose: str,
          holder: str, locale: str, deliver: Callable[[str, str], dict]) -> dict:  # fmt: skip
    """Send the code through ``deliver(target, code)`` in ``locale``, counting the outcome."""

    def outcome(name: str) -> None:
        metrics.count("shop_code_sends_total", channel=channel, outcome=name)

    try:
        code = _code(sealed_code)
        if skipped := _stale(target, code, purpose, holder):
            outcome("skipped")
            return {"channel": channel, **skipped}
        with force_locale(locale or DEFAULT_LANGUAGE):
            sent = deliver(target, code)
    except TransientSendError as error:
        outcome("failed" if task.request.retries >= task.max_retries else "retried")
        retry_later(task, error)
    except PermanentSendError:
        outcome("failed")
        raise
    outcome("sent")
    return {"channel": channel, "to": mask(target), **sent}


@shared_task(name="auth.send_code_email", **SEND_OPTIONS)
def send_code_email(
    self, target: str, sealed_code: str, purpose: str, holder: str = "", locale: str = ""
) -> dict:
    """Mail a verification code; retried with backoff on transient SMTP errors."""

    def deliver(to: str, code: str) -> dict:
        mail.send_code_mail(to, code, purpose)
        return {}

    return _send(self, "email", target, sealed_code, purpose, holder, locale, deliver)


@shared_task(name="auth.send_code_sms", **SEND_OPTIONS)
def send_code_sms(
    self, target: str, sealed_code: str, purpose: str, holder: str = "", locale: str = ""
) -> dict:
    """Text a verification code, failing over between providers, then retrying."""

    def deliver(to: str, code: str) -> dict:
        return {"provider": sms.send_code_sms(to, code)}

    return _send(self, "sms", target, sealed_code, purpose, holder, locale, deliver)


SEND_TASKS = {"email": send_code_email, "sms": send_code_sms}


DISPATCH_LIMIT = 1000


@shared_task(name="auth.dispatch_code_sends")
def dispatch_code_sends() -> int:
    """Turn the sends waiting in the outbox into send tasks; how many.

    A code request asks for this task only when no dispatcher is pending, so
    under load one run publishes many sends and the web never waits on the
    broker. Beat runs it every 30 s too, in case a request's ask was lost.
    One run publishes at most DISPATCH_LIMIT sends, then queues its successor,
    so a busy outbox never keeps a worker from the sends themselves.
    Idempotent: each send keeps the task id its request returned.
    """

    def publish(send: dict) -> None:
        SEND_TASKS[send["channel"]].apply_async(
            (
                send["target"],
                send["sealed"],
                send["purpose"],
                send.get("holder", ""),
                send.get("locale", ""),
            ),
            task_id=send["task_id"],
        )

    handed_on = code_store().drain_outbox(publish, limit=DISPATCH_LIMIT)
    if handed_on >= DISPATCH_LIMIT:
        dispatch_code_sends.delay()
    return handed_on
