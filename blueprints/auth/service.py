"""Verification codes and code login: the rules, with no Flask request in them.

A code is six digits from ``secrets``. Redis keeps only its HMAC (keyed with
SECRET_KEY); the send task gets it sealed (encrypted), never in plain text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import redis
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.auth.keys import (
    NO_OWNER,
    OUTBOX,
    OUTBOX_GROUP,
    OUTBOX_KICKED,
    budget_key,
    code_key,
    requests_key,
    sends_key,
)
from blueprints.auth.targets import Channel, channel_of
from blueprints.core.lua import run_then, script
from blueprints.core.replication import Replicas
from blueprints.core.streams import Entry, StreamConsumer
from exts import db, redis_client
from models import User

PURPOSES = ("login",)
CODE_LENGTH = 6


class SendRefused(Exception):
    """A code was not issued: cooldown, a cap or the budget. ``retry_after`` in seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeRules:
    """Cooldown and per_window (in window seconds) count one requester's sends to one target;
    target_per_day counts everyone's (a trusted device is exempt). A proof of
    work is asked once a target had challenge_target sends in the last hour, or
    a requester challenge_client sends to any targets."""

    ttl: int = 300
    max_attempts: int = 5
    cooldown: int = 60
    per_window: int = 5
    window: int = 600
    target_per_day: int = 30
    challenge_target: int = 3
    challenge_client: int = 10
    sms_daily_budget: int = 1000

    @classmethod
    def from_config(cls, config) -> CodeRules:
        return cls(
            ttl=config["CODE_TTL"],
            max_attempts=config["CODE_MAX_ATTEMPTS"],
            cooldown=config["CODE_RESEND_COOLDOWN"],
            per_window=config["CODE_MAX_PER_WINDOW"],
            window=config["CODE_WINDOW_SECONDS"],
            target_per_day=config["CODE_TARGET_MAX_PER_DAY"],
            challenge_target=config["CODE_CHALLENGE_TARGET"],
            challenge_client=config["CODE_CHALLENGE_CLIENT"],
            sms_daily_budget=config["SMS_DAILY_BUDGET"],
        )


@dataclass(frozen=True)
class IssuedCode:
    code: str
    resend_after: int
    task_id: str  # of the send task, once a dispatcher creates it
    kick: bool  # the outbox needs a dispatcher: this request must ask for one


class CodeStore:
    """Issues and checks codes in Redis. ``clock`` is injectable for tests."""

    def __init__(
        self,
        client: redis.Redis,
        secret_key: str,
        rules: CodeRules,
        clock: Callable[[], float] = time.time,
        replicas: Replicas | None = None,
    ) -> None:
        self.redis = client
        self.replicas = replicas or Replicas()
        self.secret = secret_key.encode()
        self.rules = rules
        self.clock = clock
        self._issue = script(client, __package__, "issue_code")
        self._check = script(client, __package__, "check_code")

    def digest(self, purpose: str, target: str, code: str) -> str:
        message = f"{purpose}:{target}:{code}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def issue(
        self,
        channel: Channel,
        target: str,
        purpose: str,
        owner: Callable[[str], tuple[str, str, int]] | None = None,
        *,
        holder: str = "",
        requester: str = "",
        trusted: bool = False,
        proven: bool = False,
        locale: str = "en",
    ) -> IssuedCode:
        """A new code for ``target``, replacing the one ``holder`` had, and its send queued.

        ``holder`` is the browser that will type the code: only it can log in
        with it, so nobody else can replace, guess or burn it. ``requester``
        (an IP address, or a trusted device) is who the caps count against;
        ``trusted``: a device that logged in to ``target`` before; ``proven``:
        the request carried a fresh proof of work; ``locale``: the language
        the mail or SMS speaks.

        The send waits in the outbox (with the code sealed) until a dispatcher
        turns it into a send task with ``task_id``. ``owner(task_id)`` gives
        the (key, value, ttl) of the task's owner record, written in the same
        call. Raises SendRefused while the resend cooldown runs, when a cap is
        reached, when a proof of work is needed ("challenge"), or when the
        day's SMS budget is spent.
        """
        code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
        nonce = secrets.token_hex(8)
        task_id = str(uuid.uuid4())
        owner_key, owner_value, owner_ttl = owner(task_id) if owner else ("", "", 0)
        now = self.clock()
        rules = self.rules
        budget = rules.sms_daily_budget if channel == "sms" else 0
        # The code and its send on a replica before the answer, so a failover
        # does not take back a code the user is about to receive.
        ((verdict, seconds, *kick), *_), _ = run_then(
            self.redis,
            self._issue,
            then=self.replicas.wait,
            keys=[
                code_key(purpose, target, holder),
                sends_key(target, requester),
                budget_key(channel, now),
                OUTBOX,
                OUTBOX_KICKED,
                owner_key or NO_OWNER,
                sends_key(target),
                requests_key(requester),
            ],
            args=[
                now,
                self.digest(purpose, target, code),
                rules.ttl,
                rules.cooldown,
                rules.per_window,
                rules.window,
                budget,
                nonce,
                task_id,
                channel,
                target,
                seal(self.secret.decode(), code),
                purpose,
                owner_value,
                owner_ttl,
                rules.target_per_day,
                rules.challenge_target,
                rules.challenge_client,
                int(trusted),
                int(proven),
                holder,
                locale,
            ],
        )
        if verdict != "ok":
            raise SendRefused(verdict, int(seconds))
        return IssuedCode(code, int(seconds), task_id, kick=kick == [1])

    def drain_outbox(
        self,
        publish: Callable[[dict], None],
        limit: int = 1000,
        batch: int = 200,
        stale_after_ms: int = 60_000,
    ) -> int:
        """Hand queued sends to ``publish``, at most about ``limit``; how many.

        Safe to run in several workers at once (see blueprints/streams.py): a
        send whose dispatcher died is claimed again once idle for
        ``stale_after_ms``; it may then be published twice, which mails the
        same code twice under the same task id: harmless.
        """

        def publish_all(entries: list[Entry]) -> None:
            for _, fields in entries:
                publish(fields)

        outbox = StreamConsumer(self.redis, OUTBOX, OUTBOX_GROUP, OUTBOX_KICKED)
        return outbox.drain(publish_all, limit, batch, stale_after_ms)

    def is_current(self, target: str, purpose: str, code: str, holder: str = "") -> bool:
        """Whether ``code`` is still the one that would log ``target`` in:
        not replaced by a newer code, used, burned or expired."""
        stored: str | None = self.redis.hget(code_key(purpose, target, holder), "digest")  # type: ignore[assignment]
        return stored is not None and hmac.compare_digest(
            stored, self.digest(purpose, target, code)
        )

    def check(self, target: str, purpose: str, code: str, holder: str = "") -> bool:
        """True once for the right, unexpired code ``holder`` was sent; the code
        is then used up. Each wrong try counts; after ``max_attempts`` the code
        is burned.
        """
        return self.try_code(target, purpose, code, holder).verdict == "ok"

    def try_code(self, target: str, purpose: str, code: str, holder: str = "") -> CodeCheck:
        """``check``, saying how it went: ok, wrong (with the tries left),
        burned (that was the last try), expired, or missing (used, replaced,
        never sent, or sent to another holder)."""
        reply = self._check(
            keys=[code_key(purpose, target, holder)],
            args=[self.clock(), self.digest(purpose, target, code), self.rules.max_attempts],
        )
        return CodeCheck(reply[0], int(reply[1]) if len(reply) > 1 else 0)


class CodeCheck(NamedTuple):
    verdict: str
    tries_left: int


def code_store() -> CodeStore:
    """The app's code store, built once so its Lua scripts load once."""
    extensions = current_app.extensions
    if "code_store" not in extensions:
        config = current_app.config
        extensions["code_store"] = CodeStore(
            redis_client.current,
            config["SECRET_KEY"],
            CodeRules.from_config(config),
            replicas=Replicas.of_app(),
        )
    return extensions["code_store"]


def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(b"verification-code-seal:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, code: str) -> str:
    """The code encrypted for the send task's arguments."""
    return _fernet(secret_key).encrypt(code.encode()).decode()


def unseal(secret_key: str, sealed: str, max_age: int) -> str | None:
    """The sealed code, or None when it is older than ``max_age`` or tampered with."""
    try:
        return _fernet(secret_key).decrypt(sealed.encode(), ttl=max_age).decode()
    except InvalidToken:
        return None


def login_user_for(target: str) -> User:
    """The account for ``target``, created on its first login."""
    column = User.email if channel_of(target) == "email" else User.phone
    user = db.session.scalars(select(User).where(column == target)).first()
    if user is None:
        user = User(**{column.key: target})
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            # Two first logins at once: the other request created it.
            db.session.rollback()
            user = db.session.scalars(select(User).where(column == target)).one()
    user.last_login_at = datetime.now(UTC)
    db.session.commit()
    return user
