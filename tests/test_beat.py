"""Beat with its schedule in the database, as `celery -A tasks.celery beat`
runs it: edits reach it at once, restarts neither burst nor lose a run, and
crontabs keep their zone's wall clock (failures: test_beat_failover.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from blueprints.schedules.keys import CHANGED_CHANNEL
from exts import db
from models import AuditEntry, PeriodicEntry
from models.types import utcnow
from tests.beats import (
    FAKETIME_LIBRARY,
    add_entry,
    holding,
    send_times,
    sends,
    start_beat,
)
from tests.helpers import wait_for
from tests.workers import stop

pytestmark = pytest.mark.integration


def test_an_edit_reaches_the_running_beat_within_two_seconds(app, admin, app_redis, tmp_path):
    """Through the Redis notice: the periodic check is a minute away here."""
    entry_id = add_entry(app, "edited", kind="interval", every_seconds=3600)
    beat = start_beat(app, tmp_path, "edit", BEAT_CHECK_SECONDS="60")
    try:
        wait_for(lambda: holding(app_redis), 60, "beat holds the lease")
        time.sleep(1.5)  # it has read the rows
        edited_at = utcnow()
        response = admin.patch(f"/api/admin/schedules/{entry_id}", json={"every_seconds": 1})
        assert response.status_code == 200
        wait_for(lambda: sends(app, "edited") >= 1, 10, "the edited entry sends")
        first = send_times(app, "edited")[0]
        # Due one second after the edit (not at once: the new timing counts from
        # the edit); whatever is later is the edit's way to beat.
        assert timedelta(seconds=0.9) <= first - edited_at <= timedelta(seconds=1 + 2), (
            first - edited_at
        )

        # A change nobody announced (written straight to the table) waits for
        # the periodic check; here that is a minute, so it is not seen yet.
        with app.app_context():
            db.session.execute(update(PeriodicEntry).values(enabled=False, changed_at=utcnow()))
            db.session.commit()
        time.sleep(3)
        before = sends(app, "edited")
        time.sleep(2)
        assert sends(app, "edited") > before, "without a notice beat has not reloaded yet"
        app_redis.publish(CHANGED_CHANNEL, "changed")
        time.sleep(2)
        before = sends(app, "edited")
        time.sleep(3)
        assert sends(app, "edited") == before, "disabled, it sends no more"
    finally:
        stop(beat)


def test_a_missed_notice_is_found_by_the_periodic_check(app, app_redis, tmp_path):
    add_entry(app, "quiet", kind="interval", every_seconds=1)
    beat = start_beat(app, tmp_path, "check", BEAT_CHECK_SECONDS="1")
    try:
        wait_for(lambda: sends(app, "quiet") >= 2, 60, "the entry sends")
        with app.app_context():
            db.session.execute(update(PeriodicEntry).values(enabled=False, changed_at=utcnow()))
            db.session.commit()
        time.sleep(2.5)  # one check, and a send that was already on its way
        before = sends(app, "quiet")
        time.sleep(3)
        assert sends(app, "quiet") == before
    finally:
        stop(beat)


def test_rows_beat_cannot_schedule_are_skipped_and_reported(app, admin, app_redis, tmp_path):
    """Written straight into the table, past the API's checks: beat keeps
    running the rest, and says on the schedules page and in the audit log why
    it skips them (a crontab that never fires used to stop beat for good)."""
    add_entry(app, "steady", kind="interval", every_seconds=1)
    add_entry(app, "never", kind="crontab", crontab="0 0 30 2 *")
    add_entry(app, "bad-args", kind="interval", every_seconds=1, args='["bad", "args"]')
    add_entry(app, "no-zone", kind="crontab", crontab="* * * * *", timezone="Mars/Base")
    beat = start_beat(app, tmp_path, "survives")
    try:
        wait_for(lambda: sends(app, "steady") >= 3, 60, "the good entry sends")
        assert beat.poll() is None, "beat exited"
    finally:
        stop(beat)
    assert sends(app, "bad-args") == 0
    entries = {e["name"]: e for e in admin.get("/api/admin/schedules").json["entries"]}
    assert entries["steady"]["problem"] is None
    assert "never runs" in entries["never"]["problem"]
    assert "too many positional arguments" in entries["bad-args"]["problem"]
    assert "Mars/Base" in entries["no-zone"]["problem"]
    with app.app_context():
        skipped = db.session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "schedule.skipped")
        ).all()
    assert len(skipped) == 3  # once each, not on every reload
    fixed = admin.patch(f"/api/admin/schedules/{entries['bad-args']['id']}", json={"args": []})
    assert fixed.status_code == 200 and fixed.json["entry"]["problem"] is None


def test_a_restart_neither_bursts_nor_loses_the_missed_run(app, app_redis, tmp_path):
    add_entry(app, "steady", kind="interval", every_seconds=2)
    first = start_beat(app, tmp_path, "before")
    try:
        wait_for(lambda: sends(app, "steady") >= 2, 60, "the entry sends")
    finally:
        stop(first)
    stopped_at = utcnow()
    time.sleep(7)  # three runs missed
    second = start_beat(app, tmp_path, "after")
    try:
        wait_for(lambda: len([t for t in send_times(app, "steady") if t > stopped_at]) >= 3, 60,
                 "the restarted beat sends")  # fmt: skip
    finally:
        stop(second)
    after = [t for t in send_times(app, "steady") if t > stopped_at]
    # The missed runs go out once, at the restart; then every two seconds again.
    gaps = [(b - a).total_seconds() for a, b in zip(after, after[1:], strict=False)]
    assert all(gap > 1.8 for gap in gaps), gaps
    with app.app_context():
        row = db.session.scalar(select(PeriodicEntry).where(PeriodicEntry.name == "steady"))
        assert row.total_runs == sends(app, "steady")  # each run was written before it was sent


@pytest.mark.skipif(FAKETIME_LIBRARY is None, reason="needs apt-get install faketime")
@pytest.mark.parametrize(
    ("fake_start", "entries", "fires_at"),
    [
        # 28 March 2027: Berlin moves from 02:00 CET to 03:00 CEST at 01:00 UTC.
        ("2027-03-28 00:59:50", {
            "berlin-3am": ("0 3 * * *", "Europe/Berlin"),  # 03:00 CEST = 01:00 UTC
            "berlin-2am": ("0 2 * * *", "Europe/Berlin"),  # 02:00 does not exist: at the jump
            "shanghai-9am": ("0 9 * * *", "Asia/Shanghai"),  # 09:00 CST = 01:00 UTC
            "shanghai-3am": ("0 3 * * *", "Asia/Shanghai"),  # 19:00 UTC: not now
        }, {"berlin-3am", "berlin-2am", "shanghai-9am"}),
        # 31 October 2027: 02:30 happens twice in Berlin; it ran the first time.
        ("2027-10-31 01:29:50", {
            "berlin-half-past-2": ("30 2 * * *", "Europe/Berlin"),
            "utc-half-past-1": ("30 1 * * *", "UTC"),
        }, {"utc-half-past-1"}),
    ],
)  # fmt: skip
def test_crontabs_fire_at_their_zones_wall_clock_times(
    app, tmp_path, fake_start, entries, fires_at
):
    """Beat runs with its clock set to just before a daylight-saving change."""
    start = datetime.fromisoformat(fake_start).replace(tzinfo=UTC)
    # As if each last ran before the start (the Berlin 02:30 at its first pass).
    counts_from = start - timedelta(minutes=59, seconds=50)
    for name, (line, zone) in entries.items():
        add_entry(app, name, counts_from, kind="crontab", crontab=line, timezone=zone)
    beat = start_beat(app, tmp_path, "clock", fake_start=fake_start)
    try:
        due = start.replace(second=0) + timedelta(minutes=1)
        wait_for(lambda: all(sends(app, name) for name in fires_at), 60, f"sends at {due}")
        time.sleep(3)
    finally:
        beat.kill()  # under libfaketime beat does not stop on SIGTERM
        beat.wait(30)
    for name in entries:
        times = send_times(app, name)  # as beat's clock read them
        if name in fires_at:
            assert len(times) == 1 and due <= times[0] < due + timedelta(seconds=3), (name, times)
        else:
            assert times == [], name
