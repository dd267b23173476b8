"""`make run`'s SMTP server: one console line per mail (to, subject, any code)
instead of the raw MIME that aiosmtpd's debugging handler prints.

    python -m devtools.mail_sink PORT
"""

from __future__ import annotations

import re
import sys
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def summary(raw: bytes, recipients: list[str]) -> str:
    """'mail to a@example.com · Your Flash Shop code (valid for 5 minutes) · code 123456'."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain", "html"))
    text = body.get_content() if body is not None else ""
    code = CODE.search(text)
    parts = [f"mail to {', '.join(recipients)}", str(message["Subject"] or "(no subject)")]
    if code:
        parts.append(f"code {code.group()}")
    return " · ".join(parts)


class PrintOneLine:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  (aiosmtpd's name)
        print(summary(envelope.original_content or envelope.content, envelope.rcpt_tos), flush=True)
        return "250 OK"


def main() -> None:
    controller = Controller(PrintOneLine(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
