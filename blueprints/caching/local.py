"""Each web process's own copies of cached answers, dropped on every invalidation.

A hit served from here costs no Redis round trip. A thread per process and
Redis client subscribes to ``CHANNEL``; every invalidation and refresh is
published there, and the thread drops the copy, typically within a
millisecond. The process that invalidates drops its own copy before
``invalidate()`` returns. While the subscription is down no copy is used,
and all are dropped when it comes back, since messages may have been missed.
"""

from __future__ import annotations

import os
import threading
import time

import redis as redis_lib

CHANNEL = "icache:v1:invalidations"

_instances: dict[tuple[int, int], LocalCopies] = {}
_instances_lock = threading.Lock()


class LocalCopies:
    def __init__(self, client: redis_lib.Redis) -> None:
        self.client = client
        self.copies: dict[str, tuple[str, float]] = {}
        self.epoch = 0  # counts drops, so a copy read before a drop is not put back after it
        self.listening = False
        self.lock = threading.Lock()
        threading.Thread(target=self._listen, name="icache-invalidations", daemon=True).start()

    def get(self, name: str) -> str | None:
        copy = self.copies.get(name)
        if copy is None or not self.listening or time.time() >= copy[1]:
            return None
        return copy[0]

    def put(self, name: str, body: str, fresh_until: float, epoch: int) -> None:
        """Keep ``body``, unless something was dropped since ``epoch`` was read."""
        with self.lock:
            if epoch == self.epoch and self.listening:
                self.copies[name] = (body, fresh_until)

    def drop(self, name: str | None = None) -> None:
        with self.lock:
            self.epoch += 1
            if name is None:
                self.copies.clear()
            else:
                self.copies.pop(name, None)

    def _listen(self) -> None:
        pause = 0.1
        while True:
            try:
                pubsub = self.client.pubsub()
                pubsub.subscribe(CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=5)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self.drop()
                        self.listening = True
                        pause = 0.1
                    elif message["type"] == "message":
                        self.drop(message["data"])
            except (redis_lib.RedisError, OSError, ValueError):
                pass
            self.listening = False
            self.drop()
            time.sleep(pause)
            pause = min(pause * 2, 5)


def local_copies(client: redis_lib.Redis) -> LocalCopies:
    """This process's copies for ``client``'s Redis (a forked worker starts its own)."""
    key = (os.getpid(), id(client))
    instance = _instances.get(key)
    if instance is None:
        with _instances_lock:
            instance = _instances.setdefault(key, LocalCopies(client))
    return instance


def drop_local(client: redis_lib.Redis, name: str) -> None:
    instance = _instances.get((os.getpid(), id(client)))
    if instance is not None:
        instance.drop(name)


def drop_all_local() -> None:
    """Forget every copy in this process (after FLUSHDB, which publishes nothing)."""
    for instance in list(_instances.values()):
        instance.drop()
