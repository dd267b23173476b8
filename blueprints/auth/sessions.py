"""Which login sessions are live, so that logging out ends a session everywhere.

The session cookie is signed, not stored: without a record on the server, a
copy of it would keep working after logout until it expires. Each login gets
a random session id, kept in the cookie and in a per-user sorted set in Redis
(scored by login time); logout removes it, "log out everywhere" removes the
set. A check is one Redis call, made inside the flash-sale gate's own Lua call
there, so buying still reads no database.
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import current_app
from redis import RedisError

from blueprints.auth.keys import sessions_key
from exts import redis_client

log = logging.getLogger(__name__)


def start(user_id: int) -> str:
    """A new live session for ``user_id``; its id, to keep in the cookie."""
    session_id = secrets.token_urlsafe(16)
    lifetime = int(current_app.permanent_session_lifetime.total_seconds())
    now = time.time()
    key = sessions_key(user_id)
    with redis_client.pipeline() as pipe:
        pipe.zadd(key, {session_id: now})
        pipe.zremrangebyscore(key, "-inf", now - lifetime)  # cookies that have expired anyway
        pipe.expire(key, lifetime)
        pipe.execute()
    return session_id


def is_live(user_id: int, session_id: str | None) -> bool:
    """Whether the session was not ended. While Redis cannot answer, the signed
    cookie is trusted: logged-in users and admins keep working through an
    outage, at the price of a logged-out copy of a cookie working meanwhile."""
    if not session_id:
        return False
    try:
        return redis_client.zscore(sessions_key(user_id), session_id) is not None
    except RedisError as error:
        log.warning("session check skipped, Redis is unavailable: %s", error)
        return True


def end(user_id: int, session_id: str) -> None:
    redis_client.zrem(sessions_key(user_id), session_id)


def end_all(user_id: int) -> None:
    redis_client.delete(sessions_key(user_id))
