"""A real SMTP server (aiosmtpd) that keeps what it receives, for the tests."""

from __future__ import annotations

import asyncio
import email
import re
import threading
import time
from email.message import Message

from aiosmtpd.controller import Controller


class Mailbox:
    """Receives mail over SMTP. Can fail the next deliveries or answer slowly."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.attempts = 0
        self.delay = 0.0
        self._failures: list[str] = []
        self._fail_after = 0  # deliveries to accept before the failures begin
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        # Slow before the message is sent, so a sender killed meanwhile has sent nothing.
        if self.delay:
            await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.attempts += 1
            if self._failures and self._fail_after:
                self._fail_after -= 1
            elif self._failures:
                return self._failures.pop(0)
            message = email.message_from_bytes(envelope.content)
            message["X-Rcpt-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted"

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self._fail_after = 0
            self.attempts = 0
            self.delay = 0.0

    def fail_next(
        self, count: int, reply: str = "421 4.3.0 Try again later", after: int = 0
    ) -> None:
        """Refuse ``count`` deliveries with ``reply``, once ``after`` more have been accepted."""
        with self._lock:
            self._failures = [reply] * count
            self._fail_after = after

    def mark(self) -> int:
        """A point in the mail stream: ``wait_for(..., since=mark)`` skips older mail."""
        with self._lock:
            return len(self.messages)

    def wait_for(self, address: str, timeout: float = 30, since: int = 0) -> Message:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in reversed(self.messages[since:]):
                    if address in message["X-Rcpt-To"]:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail for {address} within {timeout} s")
                self._arrived.wait(left)

    def last_code_for(self, address: str, timeout: float = 30, since: int = 0) -> str:
        """The six-digit code in the newest mail to ``address``."""
        message = self.wait_for(address, timeout, since)
        return re.search(r"\b(\d{6})\b", text_part(message)).group(1)


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("the mail has no text/plain part")


def start_mailbox(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
