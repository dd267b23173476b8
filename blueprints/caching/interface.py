"""Interface caching: a JSON answer kept in Redis, consistent with the database.

Reads are cache-aside. A fresh entry is served from the web process's own
copy (``local.py``, no round trip) or as Redis stores it (one MGET). When its
time is up, one request (holding a short lock) rebuilds it while the others
keep serving the old copy; when it is missing, the others wait briefly for
that rebuild, then read the database themselves. Entries live ``ttl`` seconds
plus a random ``jitter`` share, so entries written together do not expire
together.

Consistency: a writer commits, then calls ``invalidate_after_commit``, which
replaces the entry's generation token and deletes the entry at once, and
again after ``INTERFACE_CACHE_SECOND_DELETE_DELAY`` seconds from a task. A rebuild reads
the generation before it loads and stores its result only if the generation
is unchanged (``set_if_current.lua``), so rows loaded before a commit never
land in the cache after that commit's invalidation. If Redis is unreachable,
reads go to the database and the invalidation is retried by a task until
Redis answers; if the broker cannot take that task either (it is the same hung
Redis, say), the writing process retries it itself.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from redis import RedisError
from sqlalchemy.orm import Session

from blueprints.caching import keys
from blueprints.core.local_copies import CHANNEL, drop_local, local_copies
from blueprints.core.lua import script
from blueprints.ops import metrics
from exts import db, redis_client

log = logging.getLogger(__name__)


Loader = Callable[[Session], Any]
CACHES: dict[str, InterfaceCache] = {}


class InterfaceCache:
    """One cached answer, named ``name``, built by ``loader(session)``.

    ``get()`` returns the answer's JSON text and how it was served: ``hit``,
    ``stale`` (the expired copy while another request rebuilds it), ``miss``
    (loaded from the database) or ``bypass`` (Redis unreachable or the cache
    switched off).
    """

    def __init__(self, name: str, loader: Loader) -> None:
        self.name = name
        self.loader = loader
        self.key = keys.entry_key(name)
        self.generation_key = keys.generation_key(name)
        self.lock_key = keys.lock_key(name)

    def register(self) -> InterfaceCache:
        """Make this cache known to ``flask cache``, the refresh and invalidation tasks."""
        CACHES[self.name] = self
        return self

    def get(self) -> tuple[str, str]:
        body, served = self._get()
        metrics.count("shop_cache_answers_total", cache=self.name, kind=served)
        return body, served

    def _get(self) -> tuple[str, str]:
        config = current_app.config
        if not config["INTERFACE_CACHE_ENABLED"]:
            return self.load(), "bypass"
        client = redis_client.current
        local = local_copies(client)
        body = local.get(self.name)
        if body is not None:
            return body, "hit"
        epoch = local.epoch
        try:
            entry, generation = client.mget(self.key, self.generation_key)  # type: ignore[misc]
            stale = None
            if entry is not None:
                fresh_until, _, stale = entry.partition("|")
                if time.time() < float(fresh_until):
                    local.put(self.name, stale, float(fresh_until), epoch)
                    return stale, "hit"
            token = secrets.token_hex(8)
            lock_ms = int(config["INTERFACE_CACHE_LOCK_SECONDS"] * 1000)
            if client.set(self.lock_key, token, nx=True, px=lock_ms):
                return self._rebuild(generation, token), "miss"
            if stale is not None:
                return stale, "stale"
            body = self._wait_for_rebuild(config["INTERFACE_CACHE_WAIT_SECONDS"])
            if body is not None:
                return body, "hit"
        except RedisError as error:
            log.warning("cache %s bypassed, Redis is unreachable: %s", self.name, error)
            return self.load(), "bypass"
        return self.load(), "miss"  # the lock holder is slow: read, but leave the storing to it

    def load(self) -> str:
        """The answer straight from the database, as JSON text.

        A session of its own, so its transaction (its snapshot, on MySQL and
        SQLite) starts after the generation was read, never before.
        """
        with Session(db.engine) as session:
            return json.dumps(self.loader(session), separators=(",", ":"))

    def refresh(self) -> bool:
        """Rebuild the entry now, for beat and ``flask cache warm``; False if a write won."""
        generation = redis_client.get(self.generation_key)
        if self._store(self.load(), generation, token="") != 1:
            return False
        redis_client.publish(CHANNEL, self.name)  # processes drop their copies of the old answer
        drop_local(redis_client.current, self.name)
        return True

    def invalidate(self) -> None:
        """Turn away rebuilds already under way, and drop the entry. Raises RedisError."""
        try:
            with redis_client.pipeline(transaction=True) as pipe:
                pipe.set(self.generation_key, secrets.token_hex(8))
                pipe.delete(self.key, self.lock_key)
                pipe.publish(CHANNEL, self.name)
                pipe.execute()
        finally:
            drop_local(redis_client.current, self.name)

    def _rebuild(self, generation: str | None, token: str) -> str:
        body = self.load()
        self._store(body, generation, token)
        return body

    def _store(self, body: str, generation: str | None, token: str) -> int:
        config = current_app.config
        ttl = config["INTERFACE_CACHE_TTL"] * (
            1 + random.uniform(0, config["INTERFACE_CACHE_TTL_JITTER"])
        )
        entry = f"{time.time() + ttl:.3f}|{body}"
        # Kept past its freshness, so the old copy can be served while one request rebuilds.
        keep = int(ttl * 2) + 1
        set_if_current = script(redis_client.current, __package__, "set_if_current")
        touched = [self.key, self.generation_key, self.lock_key]
        return set_if_current(keys=touched, args=[entry, generation or "", keep, token])

    def _wait_for_rebuild(self, seconds: float) -> str | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)
            entry = redis_client.get(self.key)
            if entry is not None:
                return entry.partition("|")[2]
        return None
