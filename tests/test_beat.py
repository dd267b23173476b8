"""One beat at a time: of two beat processes only the lease holder sends, and
the standby takes over when the holder is killed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from blueprints.schedules.beat import LOCK_KEY
from config import ROOT
from exts import db
from models import TaskRun
from tests.helpers import wait_for
from tests.workers import stop, worker_env

pytestmark = pytest.mark.integration

ENTRY = "refresh-interface-caches"  # every second here


def start_beat(app, tmp_path, name: str) -> subprocess.Popen:
    env = worker_env(app, INTERFACE_CACHE_REFRESH_SCHEDULE="1", BEAT_LOCK_SECONDS="3")
    command = [sys.executable, "-m", "celery", "-A", "tasks.celery", "beat", "--loglevel=warning",
               "--schedule", str(tmp_path / f"{name}-schedule")]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)


def sends(app) -> int:
    """Runs of the entry that some beat sent, as task history recorded them."""
    with app.app_context():
        query = select(func.count()).where(TaskRun.periodic_entry == ENTRY)
        return db.session.scalar(query) or 0


def test_two_beats_send_once_and_a_standby_takes_over(app, app_redis, tmp_path):
    first, second = start_beat(app, tmp_path, "a"), start_beat(app, tmp_path, "b")
    try:
        wait_for(lambda: sends(app) >= 2, 60, "a beat sends")
        start = sends(app)
        time.sleep(8)
        sent = sends(app) - start
        assert 5 <= sent <= 10, sent  # one a second: two beats would send about 16

        holder = app_redis.get(LOCK_KEY)
        victim = first if holder.split(":")[1] == str(first.pid) else second
        assert holder.split(":")[1] == str(victim.pid)
        victim.kill()  # no goodbye: its lease must lapse
        killed_at = time.monotonic()
        time.sleep(1)  # what it sent before dying is written
        before = sends(app)
        wait_for(lambda: sends(app) >= before + 2, 30, "the standby sends")
        assert time.monotonic() - killed_at < 30
        assert app_redis.get(LOCK_KEY) not in (None, holder)
    finally:
        stop(first, second)
