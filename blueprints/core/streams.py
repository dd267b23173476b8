"""Work handed over in a Redis stream: the code outbox and the flash-sale orders.

Producers append entries (inside their own Lua scripts) and set a "kicked"
flag when they ask for a consumer task, so only one such task waits at a time.
A consumer group gives each entry to one consumer; an entry is acknowledged
and deleted only after its handler returned, so a consumer killed mid-batch
leaves its entries pending, and the next drain claims them once idle for
``stale_after_ms``. Handlers must therefore be idempotent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import redis

Entry = tuple[str, dict[str, str]]


class StreamConsumer:
    def __init__(self, client: redis.Redis, stream: str, group: str, kicked: str) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.kicked = kicked

    def drain(
        self,
        handle: Callable[[list[Entry]], None],
        limit: int,
        batch: int,
        stale_after_ms: int,
    ) -> int:
        """Pass entries to ``handle`` in batches, stale ones first, until about
        ``limit`` were handled or none is left; how many were handled."""
        self.client.delete(self.kicked)  # from now on a new entry asks again
        self._ensure_group()
        consumer = f"{socket.gethostname()}:{os.getpid()}"
        handled = 0
        cursor = "0-0"
        while handled < limit:  # what dead consumers left pending, to the end
            reply: Any = self.client.xautoclaim(
                self.stream, self.group, consumer, stale_after_ms, cursor, count=batch
            )
            cursor, claimed = reply[0], reply[1]  # Redis 7 adds a third item, 6.2 does not
            handled += self._handle(claimed, handle)
            if cursor == "0-0":
                break
        while handled < limit:
            new: Any = self.client.xreadgroup(self.group, consumer, {self.stream: ">"}, count=batch)
            if not new or not new[0][1]:
                break
            handled += self._handle(new[0][1], handle)
        return handled

    def _handle(self, entries: list, handle: Callable[[list[Entry]], None]) -> int:
        live = [(entry_id, fields) for entry_id, fields in entries if fields]
        if live:  # (fields are None for an entry deleted while pending, on Redis 6.2)
            handle(live)
        ids = [entry_id for entry_id, _ in entries]
        if ids:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.group, *ids)
                pipe.xdel(self.stream, *ids)
                pipe.execute()
        return len(entries)

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
