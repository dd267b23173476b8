"""Every Redis key of the login, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

OUTBOX = "auth:v1:outbox"  # code sends waiting for the dispatcher (a stream)
OUTBOX_KICKED = "auth:v1:outbox:kicked"  # a dispatcher task has been asked for
OUTBOX_GROUP = "dispatchers"
NO_OWNER = "auth:v1:no-owner"  # a send nobody follows (the issue script needs a key)


def code_key(purpose: str, target: str, holder: str) -> str:
    """The code's HMAC, tries and expiry, for the browser (holder) that asked."""
    return f"auth:v1:code:{purpose}:{target}:{holder}"


def budget_key(channel: str, now: float) -> str:
    """Today's sends on a channel (UTC day): the spending guard."""
    day = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d")
    return f"auth:v1:budget:{channel}:{day}"


def sends_key(target: str, requester: str = "") -> str:
    """Sends to a target, from one requester (or from all)."""
    return f"auth:v1:sends:{target}:{requester}" if requester else f"auth:v1:sends:{target}"


def requests_key(requester: str) -> str:
    """Sends one requester asked for, to any target."""
    return f"auth:v1:requests:{requester}"


def sessions_key(user_id: int) -> str:
    """The user's live login sessions (a sorted set of session ids)."""
    return f"auth:v1:sessions:{user_id}"


def challenge_used_key(signature: str) -> str:
    """A solved proof of work, spent: each counts once."""
    return f"auth:v1:challenge-used:{signature}"
