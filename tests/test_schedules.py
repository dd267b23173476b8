"""Schedules in the database: the admin API's checks and audit, and crontabs
read on the wall clock of their zone (beat itself: tests/test_beat.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, text

from blueprints.schedules.entries import ZonedCrontab, builtin_entries, seed_builtin
from config import ROOT
from exts import db
from models import AuditEntry, PeriodicEntry, TaskRun
from models.types import utcnow
from tests.helpers import wait_for
from tests.workers import worker_env

EVERY_MINUTE = {
    "name": "ping",
    "task": "ops.prune_history",
    "kind": "interval",
    "every_seconds": 60,
}


def test_an_admin_creates_edits_runs_and_deletes_an_entry(app, admin, worker):
    created = admin.post("/api/admin/schedules", json={**EVERY_MINUTE, "description": "tries"})
    assert created.status_code == 201, created.json
    entry = created.json["entry"]
    assert entry["enabled"] and entry["total_runs"] == 0 and entry["last_run_at"] is None
    next_run = datetime.fromisoformat(entry["next_run_at"])
    assert timedelta(seconds=55) < next_run - utcnow() <= timedelta(seconds=60)  # not at once

    crontab = {"kind": "crontab", "crontab": "5 0 * * *", "timezone": "Europe/Berlin"}
    edited = admin.patch(f"/api/admin/schedules/{entry['id']}", json=crontab).json["entry"]
    assert edited["crontab"] == "5 0 * * *" and edited["every_seconds"] is None
    berlin = datetime.fromisoformat(edited["next_run_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute) == (0, 5)

    ran = admin.post(f"/api/admin/schedules/{entry['id']}/run", json={})
    assert ran.status_code == 202
    task_id = ran.json["task_id"]
    with app.app_context():
        run = wait_for(lambda: db.session.get(TaskRun, task_id), message="the run in history")
        assert run.periodic_entry == "ping"
        db.session.rollback()

    assert admin.delete(f"/api/admin/schedules/{entry['id']}", json={}).status_code == 204
    assert admin.get("/api/admin/schedules").json["entries"] == []
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["schedule.create", "schedule.update", "schedule.run", "schedule.delete"]


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"task": "no.such.task"}, "unknown_task", "No task named 'no.such.task'"),
        ({"kind": "crontab", "crontab": "61 * * * *"}, "invalid_crontab", "minute field '61'"),
        ({"kind": "crontab", "crontab": "0 25 * * *"}, "invalid_crontab", "hour field '25'"),
        ({"kind": "crontab", "crontab": "* * *"}, "invalid_crontab", "5 fields"),
        ({"kind": "crontab", "crontab": "0 3 * * *", "timezone": "Mars/Base"}, "invalid_timezone",
         "Mars/Base"),
        ({"kind": "crontab"}, "missing_field", "needs 'crontab'"),
        ({"every_seconds": 0.5}, "invalid_field", "from 1 to"),
        ({"args": "[1, 2]"}, "invalid_field", "JSON array"),
        ({"kwargs": [1]}, "invalid_field", "JSON object"),
        ({"kind": "once", "run_at": "2001-01-01T00:00:00Z"}, "invalid_field", "in the future"),
        ({"kind": "hourly"}, "invalid_field", "one of interval, crontab, once"),
        ({"name": "x\u0000y"}, "invalid_field", "one line"),
        ({"owner": "me"}, "unknown_field", "owner"),
        # Each field right, the date impossible: beat could never schedule it.
        ({"kind": "crontab", "crontab": "0 0 30 2 *"}, "invalid_crontab", "never runs"),
        ({"kind": "crontab", "crontab": "0 0 31 4 *"}, "invalid_crontab", "31 April"),
        # Arguments the task cannot take: named before beat or "run now" meets them.
        ({"args": ["bad", "args"]}, "invalid_arguments", "too many positional arguments"),
        ({"kwargs": {"days": 3}}, "invalid_arguments", "unexpected keyword argument 'days'"),
        ({"task": "reports.sale_figures"}, "invalid_arguments", "missing a required argument"),
        ({"task": "auth.send_code_email", "args": [1, 2, 3]}, "invalid_arguments",
         "The argument 'target' of auth.send_code_email must be text, not 1."),
        ({"task": "seckill.cancel_unpaid", "args": [[1], True]}, "invalid_arguments",
         "'due_at' of seckill.cancel_unpaid must be a number or null, not true."),
    ],
)  # fmt: skip
def test_bad_entries_get_a_clear_error(admin, change, code, words):
    response = admin.post("/api/admin/schedules", json={**EVERY_MINUTE, **change})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == code
    assert words in response.json["error"]["message"]


def test_an_edit_that_breaks_an_entry_is_refused_and_changes_nothing(app, admin):
    with app.app_context():
        seed_builtin(app.config)
    entries = {e["name"]: e for e in admin.get("/api/admin/schedules").json["entries"]}
    report = entries["daily-sales-report"]
    for change in ({"crontab": "0 0 31 4 *"}, {"args": [1, 2]}):
        refused = admin.patch(f"/api/admin/schedules/{report['id']}", json=change)
        assert refused.status_code == 400, refused.json
    listed = admin.get("/api/admin/schedules")
    assert listed.status_code == 200
    kept = {e["name"]: e for e in listed.json["entries"]}["daily-sales-report"]
    assert kept["crontab"] == "5 0 * * *" and kept["args"] == [] and kept["problem"] is None


def test_rows_written_past_the_api_are_listed_and_refused_to_run_with_a_reason(app, admin):
    """A row an older release or a hand-written SQL left: the page still lists
    everything, and "run now" says why instead of a 500."""
    with app.app_context():
        bad_args = PeriodicEntry(name="bad-args", task="ops.prune_history", kind="interval",
                                 every_seconds=60, args='["bad", "args"]')  # fmt: skip
        never = PeriodicEntry(name="never", task="ops.prune_history", kind="crontab",
                              crontab="0 0 30 2 *")  # fmt: skip
        db.session.add_all([bad_args, never])
        db.session.commit()
        ids = bad_args.id, never.id
    listed = admin.get("/api/admin/schedules")
    assert listed.status_code == 200
    by_name = {e["name"]: e for e in listed.json["entries"]}
    assert by_name["never"]["next_run_at"] is None
    ran = admin.post(f"/api/admin/schedules/{ids[0]}/run", json={})
    assert ran.status_code == 400 and ran.json["error"]["code"] == "invalid_arguments"
    assert "ops.prune_history()" in ran.json["error"]["message"]


def test_a_new_deployment_has_the_products_entries_before_beat_starts(app, tmp_path):
    """`flask db upgrade` writes them: an admin edits them before beat ever runs."""
    database = f"sqlite:///{tmp_path}/new.db"
    command = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
    subprocess.run(command, env=worker_env(app, DATABASE_URL=database), cwd=ROOT, check=True)
    engine = create_engine(database)
    with engine.connect() as connection:
        names = set(connection.scalars(text("SELECT name FROM periodic_entries WHERE builtin")))
    engine.dispose()
    assert names == {entry["name"] for entry in builtin_entries(app.config)}


def test_names_are_unique_and_only_admins_may_touch_schedules(app, admin, client, login_as):
    assert admin.post("/api/admin/schedules", json=EVERY_MINUTE).status_code == 201
    again = admin.post("/api/admin/schedules", json=EVERY_MINUTE)
    assert again.status_code == 409 and again.json["error"]["code"] == "name_taken"
    assert app.test_client().get("/api/admin/schedules").status_code == 401
    login_as("shopper@example.com")
    assert client.post("/api/admin/schedules", json=EVERY_MINUTE).status_code == 403
    assert client.get("/admin/schedules").status_code == 403


def test_the_products_own_entries_are_seeded_once_and_cannot_be_deleted(app, admin):
    with app.app_context():
        assert len(seed_builtin(app.config)) == len(builtin_entries(app.config)) == 7
        assert seed_builtin(app.config) == []  # idempotent
    entries = {e["name"]: e for e in admin.get("/api/admin/schedules").json["entries"]}
    sweep = entries["sweep-code-outbox"]
    assert sweep["builtin"] and sweep["every_seconds"] == 30
    assert entries["preload-todays-sales"]["timezone"] == app.config["TIMEZONE"]
    refused = admin.delete(f"/api/admin/schedules/{sweep['id']}", json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "builtin"
    renamed = admin.patch(f"/api/admin/schedules/{sweep['id']}", json={"name": "mine"})
    assert renamed.status_code == 400
    disabled = admin.patch(f"/api/admin/schedules/{sweep['id']}", json={"enabled": False})
    assert disabled.json["entry"]["next_run_at"] is None
    with app.app_context():
        seed_builtin(app.config)  # a disabled entry stays as the admin left it
        assert not db.session.scalar(
            select(PeriodicEntry.enabled).where(
                PeriodicEntry.builtin, PeriodicEntry.name == "sweep-code-outbox"
            )
        )


def test_an_edit_counts_from_now_and_enabling_does_not_fire_at_once(app, admin):
    entry = admin.post("/api/admin/schedules", json=EVERY_MINUTE).json["entry"]
    with app.app_context():  # as if it last ran ten minutes ago, while disabled
        row = db.session.get(PeriodicEntry, entry["id"])
        row.last_run_at = row.due_from = utcnow() - timedelta(minutes=10)
        row.enabled = False
        db.session.commit()
    enabled = admin.patch(f"/api/admin/schedules/{entry['id']}", json={"enabled": True}).json[
        "entry"
    ]
    assert datetime.fromisoformat(enabled["next_run_at"]) - utcnow() > timedelta(seconds=55)
    # Only the description changes: the schedule keeps counting from the last run.
    with app.app_context():
        row = db.session.get(PeriodicEntry, entry["id"])
        row.due_from = utcnow() - timedelta(minutes=10)
        db.session.commit()
    described = admin.patch(f"/api/admin/schedules/{entry['id']}", json={"description": "x"})
    assert datetime.fromisoformat(described.json["entry"]["next_run_at"]) - utcnow() < timedelta(
        seconds=5
    )


def zoned(line: str, zone: str, now: datetime) -> ZonedCrontab:
    timing = ZonedCrontab(line, ZoneInfo(zone))
    timing.nowfun = lambda: now.astimezone(ZoneInfo(zone))
    return timing


def next_after(line: str, zone: str, last_run: datetime) -> datetime:
    """When a crontab fires next after ``last_run``, in UTC."""
    return ZonedCrontab(line, ZoneInfo(zone)).next_after(last_run)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_crontabs_fire_on_their_zones_wall_clock_across_daylight_saving():
    # Shanghai has no daylight saving: 00:05 there is 16:05 UTC the day before.
    assert next_after("5 0 * * *", "Asia/Shanghai", utc(2027, 3, 27, 17)) == utc(2027, 3, 28, 16, 5)
    # 03:00 in Berlin: 02:00 UTC in winter, 01:00 UTC once clocks go forward (28 March 2027)...
    assert next_after("0 3 * * *", "Europe/Berlin", utc(2027, 3, 26, 2)) == utc(2027, 3, 27, 2)
    assert next_after("0 3 * * *", "Europe/Berlin", utc(2027, 3, 27, 2)) == utc(2027, 3, 28, 1)
    # ... and 02:00 UTC again once they go back (31 October 2027).
    assert next_after("0 3 * * *", "Europe/Berlin", utc(2027, 10, 30, 1)) == utc(2027, 10, 31, 2)
    # 02:30 does not exist on 28 March: it runs as the clock jumps, like cron.
    assert next_after("30 2 * * *", "Europe/Berlin", utc(2027, 3, 27, 1, 30)) == utc(
        2027, 3, 28, 1, 30
    )
    # 02:30 happens twice on 31 October: it runs the first time only.
    first = next_after("30 2 * * *", "Europe/Berlin", utc(2027, 10, 30, 1))
    assert first == utc(2027, 10, 31, 0, 30)
    assert next_after("30 2 * * *", "Europe/Berlin", first) == utc(2027, 11, 1, 1, 30)


def test_a_due_crontab_is_due_once():
    timing = zoned("0 3 * * *", "Europe/Berlin", utc(2027, 3, 28, 1, 0, 1))
    assert timing.is_due(utc(2027, 3, 27, 2)).is_due  # the 03:00 of 28 March has passed
    assert not timing.is_due(utc(2027, 3, 28, 1, 0, 0, 500)).is_due  # and it ran
