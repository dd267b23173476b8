"""Each web process's own copies of cached answers, dropped on every invalidation.

A hit served from here costs no Redis round trip. Every invalidation and
refresh is published on ``CHANNEL``, to which each process (per Redis
client) subscribes. Before a copy is served, the invalidations already
delivered to the process are applied (a poll of the subscription's socket,
no round trip): the message of a write whose answer has come back is here
by then, so a read that follows it never gets the old copy, however busy
the process is. A thread applies them in between. The process that
invalidates drops its own copy before ``invalidate()`` returns. While the
subscription is down no copy is used, and all are dropped when it comes
back, since messages may have been missed.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from typing import Any

import redis as redis_lib

from blueprints.core.internals import socket_of

CHANNEL = "icache:v1:invalidations"

_instances: dict[tuple[int, int], LocalCopies] = {}
_instances_lock = threading.Lock()


class LocalCopies:
    def __init__(self, client: redis_lib.Redis) -> None:
        self.client = client
        self.copies: dict[str, tuple[str, float]] = {}
        self.epoch = 0  # counts drops, so a copy read before a drop is not put back after it
        self.pubsub: Any = None
        self.listening = False  # subscribed, and every copy since dropped
        self.lock = threading.Lock()  # the copies and the subscription
        threading.Thread(target=self._watch, name="icache-invalidations", daemon=True).start()

    def get(self, name: str) -> str | None:
        copy = self.copies.get(name)
        if copy is None or time.time() >= copy[1] or not self.catch_up():
            return None
        copy = self.copies.get(name)  # unless a delivered invalidation dropped it
        return copy[0] if copy is not None else None

    def put(self, name: str, body: str, fresh_until: float, epoch: int) -> None:
        """Keep ``body``, unless something was dropped since ``epoch`` was read."""
        with self.lock:
            if epoch == self.epoch and self.listening:
                self.copies[name] = (body, fresh_until)

    def drop(self, name: str | None = None) -> None:
        with self.lock:
            self._drop(name)

    def _drop(self, name: str | None = None) -> None:
        self.epoch += 1
        if name is None:
            self.copies.clear()
        else:
            self.copies.pop(name, None)

    def catch_up(self) -> bool:
        """Apply every invalidation delivered so far; whether copies may be used.
        Nothing is sent to Redis and nothing waited for: with nothing on the
        subscription's socket, this is one poll."""
        with self.lock:
            if self.pubsub is None:
                return False
            try:
                if _readable(self._socket(), 0):
                    while (message := self.pubsub.get_message(timeout=0)) is not None:
                        if message["type"] == "subscribe":  # (again, after a reconnection)
                            self._drop()
                            self.listening = True
                        elif message["type"] == "message":
                            self._drop(message["data"])
            except (redis_lib.RedisError, OSError, ValueError, TypeError):
                self._lost()  # TypeError: the connection was closed (no socket)
            return self.listening

    def _socket(self) -> Any:
        return socket_of(self.pubsub)

    def _lost(self) -> None:
        """The subscription broke: no copy is used until it is back."""
        if self.pubsub is not None:
            with contextlib.suppress(redis_lib.RedisError, OSError):
                self.pubsub.close()
        self.pubsub, self.listening = None, False
        self._drop()

    def _watch(self) -> None:
        """Subscribe, and apply what arrives while no read asks."""
        pause = 0.1
        while True:
            try:
                with self.lock:
                    if self.pubsub is None:
                        self.pubsub = self.client.pubsub()
                        self.pubsub.subscribe(CHANNEL)
                    socket = self._socket()
                if not _readable(socket, 5):  # outside the lock: reads go on
                    with self.lock:  # quiet: a PING now and then, so a dead peer shows
                        if self.pubsub is not None:
                            self.pubsub.check_health()
                if self.catch_up():
                    pause = 0.1
                    continue
            except (redis_lib.RedisError, OSError, ValueError, TypeError):
                with self.lock:
                    self._lost()
            time.sleep(pause)
            pause = min(pause * 2, 5)


def _readable(sock: Any, timeout: float) -> bool:
    """Whether ``sock`` has something to read within ``timeout`` seconds (poll,
    not select: a busy process's descriptors pass select's limit of 1024)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


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
