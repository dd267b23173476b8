"""The verification mail: Flask-Mail, HTML and text bodies from templates."""

from __future__ import annotations

import smtplib

from flask import current_app, render_template
from flask_babel import ngettext
from flask_mail import Message

from blueprints.auth.errors import PermanentSendError, TransientSendError
from exts import mail


def classify_smtp_error(error: smtplib.SMTPException) -> Exception:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
    elif isinstance(error, smtplib.SMTPResponseException):
        transient = 400 <= error.smtp_code < 500
    else:  # disconnected, helo failures and the like
        transient = True
    kind = TransientSendError if transient else PermanentSendError
    return kind(f"SMTP: {error.__class__.__name__}: {error}")


def send_code_mail(target: str, code: str, purpose: str) -> None:
    """Send ``code`` to ``target``; raises Transient- or PermanentSendError."""
    minutes = current_app.config["CODE_TTL"] // 60
    context = {"code": code, "minutes": minutes, "purpose": purpose}
    message = Message(
        subject=ngettext(
            "Your Flash Shop code (valid for %(num)d minute)",
            "Your Flash Shop code (valid for %(num)d minutes)",
            minutes,
        ),  # fmt: skip
        recipients=[target],
        body=render_template("mail/code.txt", **context),
        html=render_template("mail/code.html", **context),
    )
    try:
        mail.send(message)  # MAIL_TIMEOUT bounds each SMTP call (core.internals.TimedConnection)
    except smtplib.SMTPException as error:
        raise classify_smtp_error(error) from None
    except OSError as error:  # refused, reset, timed out, DNS
        raise TransientSendError(f"SMTP: {error.__class__.__name__}: {error}") from None
