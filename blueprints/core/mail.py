"""Flask-Mail with a timeout on its SMTP connections."""

from __future__ import annotations

import smtplib

from flask import current_app
from flask_mail import Connection, Mail


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
