"""The stale-set guard under concurrent readers and writers.

Each round empties the cache, lets reader threads rebuild it through a slow
query, and commits a write while rebuilds are in flight. A read that starts
after the write's invalidation returned must see the write, and so must the
cache once the round settles. Without the guard some rebuilds that loaded
rows before the commit land in the cache after it; with it, none do.
"""

import random
import threading
import time

import pytest
from sqlalchemy import update

from blueprints.banners.service import visible_banners
from blueprints.caching import InterfaceCache
from exts import db, redis_client
from models import Banner
from tests.helpers import add_banners

pytestmark = pytest.mark.integration

ROUNDS = 40
READERS = 6


def slow_query(session):
    rows = visible_banners(session)
    time.sleep(random.uniform(0, 0.01))  # the rows are old by the time they are stored
    return rows


def race(app, cache: InterfaceCache, rounds: int, until_stale: bool = False) -> dict[str, int]:
    """``rounds`` rounds, or fewer once a stale read was seen if ``until_stale``."""
    (banner_id,) = add_banners(app, "v0")
    counts = {"reads": 0, "stale_reads": 0, "stale_rounds": 0}
    tally = threading.Lock()

    def reader(written: str, settled: threading.Event, stop: threading.Event) -> None:
        with app.app_context():
            while not stop.is_set():
                after_write = settled.is_set()
                body, _ = cache.get()
                with tally:
                    counts["reads"] += 1
                    counts["stale_reads"] += after_write and written not in body
                time.sleep(0.001)

    for n in range(1, rounds + 1):
        if until_stale and counts["stale_reads"]:
            break
        written = f'"v{n}"'
        settled = threading.Event()
        stop = threading.Event()

        with app.app_context():
            cache.invalidate()  # every round starts with rebuilds
        threads = [
            threading.Thread(target=reader, args=(written, settled, stop)) for _ in range(READERS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0, 0.01))
        with app.app_context():
            db.session.execute(update(Banner).where(Banner.id == banner_id).values(title=f"v{n}"))
            db.session.commit()
            cache.invalidate()
        settled.set()
        time.sleep(0.03)
        stop.set()
        for thread in threads:
            thread.join()
        with app.app_context():
            entry = redis_client.get(cache.key)
            cached = None if entry is None else entry.partition("|")[2]
        counts["stale_rounds"] += cached is not None and written not in cached
    return counts


class Unguarded(InterfaceCache):
    """The cache without its generation check, to show what the check prevents."""

    def _store(self, body: str, generation: str | None, token: str) -> int:
        redis_client.set(self.key, f"{time.time() + 300:.3f}|{body}", ex=601)
        return 1


def test_no_stale_list_survives_a_write(app):
    counts = race(app, InterfaceCache("race-guarded", slow_query), ROUNDS)
    print(f"with the guard: {counts}")
    assert counts["reads"] > ROUNDS * READERS
    assert counts["stale_reads"] == 0
    assert counts["stale_rounds"] == 0


def test_without_the_guard_stale_lists_survive(app):
    # A busy machine shifts the timing: keep going (up to 10x) until it shows.
    unguarded = Unguarded("race-unguarded", slow_query)
    counts = race(app, unguarded, 10 * ROUNDS, until_stale=True)
    print(f"without the guard: {counts}")
    # Stale reads show up in every run, hundreds in 40 rounds on an idle machine.
    assert counts["stale_reads"] > 0
