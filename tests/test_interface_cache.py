"""Single-flight rebuilds and jittered lifetimes of the interface cache."""

import threading
import time

import pytest

from blueprints.caching import InterfaceCache
from blueprints.core.local_copies import drop_all_local

pytestmark = pytest.mark.integration


class CountingLoader:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, session):
        with self.lock:
            self.calls += 1
        time.sleep(self.seconds)  # a slow query
        return {"items": [1, 2, 3]}


def read_together(app, cache: InterfaceCache, readers: int = 8) -> list[str]:
    start = threading.Barrier(readers)
    served: list[str] = []

    def read():
        with app.app_context():
            start.wait()
            served.append(cache.get()[1])

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(served)


def test_one_request_rebuilds_a_missing_entry_while_the_others_wait(app, monkeypatch):
    monkeypatch.setitem(
        app.config, "INTERFACE_CACHE_WAIT_SECONDS", 5
    )  # longer than a slow CI's stall
    loader = CountingLoader(0.05)
    cache = InterfaceCache("single-flight", loader)
    served = read_together(app, cache)
    assert loader.calls == 1
    assert served == ["hit"] * 7 + ["miss"]


def test_one_request_rebuilds_an_expired_entry_while_the_others_get_the_old_copy(app, monkeypatch):
    loader = CountingLoader(0.05)
    cache = InterfaceCache("expiring", loader)
    monkeypatch.setitem(app.config, "INTERFACE_CACHE_TTL", 0.2)
    with app.app_context():
        assert cache.get()[1] == "miss"
    time.sleep(0.3)
    drop_all_local()  # this process's copy would expire with the entry anyway
    served = read_together(app, cache)
    assert loader.calls == 2
    assert served == ["miss"] + ["stale"] * 7


def test_entries_live_their_ttl_plus_a_random_share(app, app_redis, monkeypatch):
    monkeypatch.setitem(app.config, "INTERFACE_CACHE_TTL", 100)
    monkeypatch.setitem(app.config, "INTERFACE_CACHE_TTL_JITTER", 0.5)
    cache = InterfaceCache("jitter", lambda session: [])
    lifetimes = set()
    with app.app_context():
        for _ in range(20):
            cache.refresh()
            fresh_until = float(app_redis.get(cache.key).partition("|")[0])
            lifetimes.add(round(fresh_until - time.time()))
    assert all(99 <= lifetime <= 150 for lifetime in lifetimes)
    assert len(lifetimes) > 5, "entries written together expire apart"
