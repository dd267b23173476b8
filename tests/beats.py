"""Beat processes for the tests, and what they sent, as task history saw it."""

from __future__ import annotations

import glob
import subprocess
import sys
from datetime import datetime

from sqlalchemy import func, select

from blueprints.schedules.keys import LOCK_KEY
from config import ROOT
from exts import db
from models import PeriodicEntry, TaskRun
from models.types import utcnow
from tests.workers import worker_env

ENTRY = "refresh-interface-caches"  # every second here
NOWHERE = "beat-test-nowhere"  # a queue no worker reads: sends are only counted
# libfaketime, from Debian's faketime package: a process's clock set to any time.
FAKETIME_LIBRARY = next(iter(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")), None)


def start_beat(app, tmp_path, name: str, fake_start: str | None = None,
               **settings: str) -> subprocess.Popen:  # fmt: skip
    """A beat process; with ``fake_start``, its clock starts there (libfaketime)."""
    env = worker_env(app, INTERFACE_CACHE_REFRESH_SCHEDULE="1", BEAT_LOCK_SECONDS="3", **settings)
    command = [sys.executable, "-m", "celery", "-A", "tasks.celery", "beat", "--loglevel=info",
               "--schedule", str(tmp_path / f"{name}-schedule")]  # fmt: skip
    if fake_start:  # preloaded, not through the faketime wrapper, whose child a stop would miss
        env.update(LD_PRELOAD=FAKETIME_LIBRARY or "", FAKETIME=f"@{fake_start}")
    return subprocess.Popen(command, env=env, cwd=ROOT)


def sends(app, entry: str = ENTRY) -> int:
    """Runs of the entry that some beat sent, as task history recorded them."""
    with app.app_context():
        query = select(func.count()).where(TaskRun.periodic_entry == entry)
        return db.session.scalar(query) or 0


def send_times(app, entry: str) -> list[datetime]:
    with app.app_context():
        query = select(TaskRun.seen_at).where(TaskRun.periodic_entry == entry)
        return sorted(db.session.scalars(query))


def add_entry(app, name: str, counts_from: datetime | None = None, **values) -> int:
    """A row as the admin API writes it, its schedule counting from ``counts_from``."""
    moment = counts_from or utcnow()
    with app.app_context():
        entry = PeriodicEntry(name=name, task="ops.prune_history", queue=NOWHERE,
                              due_from=moment, created_at=moment, changed_at=moment,
                              **values)  # fmt: skip
        db.session.add(entry)
        db.session.commit()
        return entry.id


def holding(app_redis) -> bool:
    return app_redis.get(LOCK_KEY) is not None
