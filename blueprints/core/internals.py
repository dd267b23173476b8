"""Every place the product leans on a library's private parts, and why; each
has a test in tests/test_library_contracts.py that fails loudly when the
library changes under it (read them before upgrading Celery, Flask-Mail,
redis-py or flask-smorest). Two more live in the subclasses they belong to:
``redis_client.FailFast.__deepcopy__`` (redis-py copies a retry policy per
connection; the pause must be per process) and ``openapi.Api`` /
``openapi.Blueprint`` (flask-smorest's ``_register_error_handlers``,
``_register_doc_blueprint`` and a view's ``_apidoc``)."""

from __future__ import annotations

import smtplib
from typing import Any

from celery._state import _set_task_join_will_block
from flask import current_app
from flask_mail import Connection, Mail
from redis.client import PubSub


def skip_result_subscriptions() -> None:
    """Nobody in this process waits on a result (the task API reads states),
    so the Redis result backend need not SUBSCRIBE to every task it sends: one
    round trip less per .delay(), and no pile of channels in a web process.
    Celery's worker sets the same private flag for its own process; there is
    no public switch."""
    _set_task_join_will_block(True)


def socket_of(pubsub: PubSub) -> Any:
    """The subscription's socket, to poll without reading. redis-py keeps no
    complete message buffered once get_message has returned None, so the
    socket alone says whether one came; its public ``can_read`` would read."""
    return pubsub.connection._sock  # type: ignore[union-attr,attr-defined]


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout (MAIL_TIMEOUT): Flask-Mail
    opens smtplib without one, and a silent server would hold a worker forever.
    Not socket.setdefaulttimeout, which is process-wide: threads sending at
    once (the reminder lanes) raced on it and left it set, and every socket
    opened meanwhile (Redis, the database, a listener) inherited it."""

    def configure_host(self) -> smtplib.SMTP:
        kind = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = kind(self.mail.server, self.mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


class TimedMail(Mail):
    def connect(self) -> Connection:
        return TimedConnection(current_app.extensions["mail"])
