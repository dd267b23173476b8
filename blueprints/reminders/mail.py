"""A reminder mail: rendered and serialized once per sale and language,
addressed per recipient, sent over one SMTP connection per lane."""

from __future__ import annotations

import contextlib
import smtplib
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, render_template
from flask_babel import ngettext
from flask_mail import Message

from blueprints.auth.errors import TransientSendError
from blueprints.auth.mail import classify_smtp_error
from blueprints.core.i18n import shop_time
from exts import mail
from models import SeckillActivity
from models.types import utcnow


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


def compose_for(sale: SeckillActivity) -> Callable[[str], Message]:
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
