"""Beat through failures: a database outage is survived, and of two beats
only the lease holder sends, the standby taking over when it dies."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from blueprints.schedules.keys import LOCK_KEY
from config import ROOT
from models import PeriodicEntry
from models.types import utcnow
from tests.beats import (
    NOWHERE,
    sends,
    start_beat,
)
from tests.helpers import wait_for
from tests.tcp_proxy import TcpProxy
from tests.workers import stop, worker_env

pytestmark = pytest.mark.integration


def test_beat_survives_a_database_outage(app, app_redis, tmp_path):
    """PostgreSQL behind a proxy that drops every connection, then comes back."""
    import psycopg

    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432")
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    with create_engine(admin_url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS beat_outage"))
        connection.execute(text("CREATE DATABASE beat_outage"))
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/beat_outage"
    env = worker_env(app, DATABASE_URL=url)
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], env=env,
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/beat_outage")

    def total_runs() -> int:
        with engine.connect() as connection:
            query = text("SELECT total_runs FROM periodic_entries WHERE name = 'outage'")
            return connection.execute(query).scalar() or 0

    with engine.begin() as connection:
        now = utcnow()
        connection.execute(PeriodicEntry.__table__.insert().values(
            name="outage", task="ops.prune_history", args="[]", kwargs="{}", queue=NOWHERE,
            kind="interval", every_seconds=1, enabled=True, description="", builtin=False,
            total_runs=0, due_from=now, created_at=now, changed_at=now))  # fmt: skip
    beat = start_beat(app, tmp_path, "outage", DATABASE_URL=url)
    try:
        wait_for(lambda: total_runs() >= 2, 60, "beat sends")
        proxy.stop()
        time.sleep(6)
        assert beat.poll() is None, "beat is still up"
        during = total_runs()
        proxy.start()
        # Within a tick it writes the runs it sent meanwhile (it kept sending:
        # Redis was up), and goes on.
        wait_for(lambda: total_runs() >= during + 4, 5, "the runs sent during the outage")
        before = total_runs()
        wait_for(lambda: total_runs() >= before + 2, 5, "sends after the outage")
        # And a beat that starts while the database is away waits for it.
        stop(beat)
        proxy.stop()
        beat = start_beat(app, tmp_path, "outage-start", DATABASE_URL=url)
        time.sleep(5)
        assert beat.poll() is None
        stalled = total_runs()
        proxy.start()
        wait_for(lambda: total_runs() >= stalled + 1, 5, "sends once the database is back")
    finally:
        stop(beat)
        proxy.stop()
        engine.dispose()


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
