"""Task history with a real worker: states, timeline, retries, tracebacks,
operator actions, redaction, restarts, pruning, and how batches merge."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from blueprints.ops import history
from blueprints.ops.batches import Change, merge
from config import ROOT
from exts import db
from models import AuditEntry, TaskRun
from models.types import utcnow
from tests.helpers import builtin_entry, request_code, wait_for
from tests.sample_tasks import broken, flaky
from tests.workers import start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration


def run_of(app, task_id: str, state: str | None = None, timeout: float = 20) -> TaskRun:
    """The task's history row, once it is there (in ``state``, if given)."""

    def read():
        with app.app_context():
            run = db.session.get(TaskRun, task_id)
            if run is not None and (state is None or run.state == state):
                db.session.expunge(run)
                return run
        return None

    return wait_for(read, timeout, f"task {task_id} in {state or 'history'}")


def test_a_task_that_fails_twice_then_succeeds_shows_its_retries(app, admin, worker):
    result = flaky.delay("tests:flaky:1", 2)
    run_of(app, result.id, "SUCCESS")
    body = admin.get(f"/api/admin/tasks/{result.id}").json["task"]
    assert body["retries"] == 2
    assert body["worker"] and body["queue"] == "celery"
    assert body["runtime"] is not None and body["runtime"] >= 0
    assert body["result"] == "done" and body["error"] is None
    assert body["arguments"] == {"args": ["tests:flaky:1", 2], "kwargs": {}}
    states = [event["state"] for event in body["timeline"]]
    assert states[0] == "SENT" and states[-1] == "SUCCESS"
    assert states.count("STARTED") == 3 and states.count("RETRY") == 2
    retries = [e for e in body["timeline"] if e["state"] == "RETRY"]
    assert "attempt 1 failed" in retries[0]["detail"]
    assert "attempt 2 failed" in retries[1]["detail"]
    times = [event["at"] for event in body["timeline"]]
    assert times == sorted(times)


def test_a_failing_task_shows_its_traceback(app, app_redis, admin, worker):
    app_redis.set("tests:broken:1", "1")
    result = broken.delay("tests:broken:1")
    run_of(app, result.id, "FAILURE")
    body = admin.get(f"/api/admin/tasks/{result.id}").json["task"]
    assert body["error"] == "ValueError: the flag tests:broken:1 is up"
    assert "Traceback" in body["traceback"] and "def broken" not in body["traceback"]
    assert 'raise ValueError(f"the flag {key} is up")' in body["traceback"]
    listed = admin.get("/api/admin/tasks?state=FAILURE").json["tasks"]
    assert [run["task_id"] for run in listed] == [result.id]


def test_an_operator_reruns_a_failed_task_with_its_arguments(app, app_redis, admin, worker):
    app_redis.set("tests:broken:2", "1")
    failed = broken.delay("tests:broken:2")
    run_of(app, failed.id, "FAILURE")
    app_redis.delete("tests:broken:2")  # the cause is fixed

    response = admin.post(f"/api/admin/tasks/{failed.id}/retry", json={})
    assert response.status_code == 202, response.json
    new_id = response.json["task_id"]
    rerun = run_of(app, new_id, "SUCCESS")
    assert rerun.retry_of == failed.id and rerun.name == "tests.broken"
    assert app_redis.get("tests:broken:2:ran") == "1"
    old = admin.get(f"/api/admin/tasks/{failed.id}").json["task"]
    assert [run["task_id"] for run in old["reruns"]] == [new_id]
    # Only a failed run is rerun.
    again = admin.post(f"/api/admin/tasks/{new_id}/retry", json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "not_failed"
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.target) == (
        "admin@example.com", "task.retry", f"task:{failed.id}")  # fmt: skip
    assert json.loads(entry.detail)["new_task_id"] == new_id
    audit = admin.get("/api/admin/audit").json["entries"]
    assert audit[0]["action"] == "task.retry"


def test_revoke_stops_a_waiting_task(app, app_redis, admin, worker):
    waiting = broken.apply_async(("tests:broken:3",), countdown=2)
    run_of(app, waiting.id)
    response = admin.post(f"/api/admin/tasks/{waiting.id}/revoke", json={"terminate": False})
    assert response.status_code == 202, response.json
    assert response.json["action"] == "revoke"
    time.sleep(3)  # past its countdown: a worker would have run it by now
    run_of(app, waiting.id, "REVOKED")
    assert app_redis.get("tests:broken:3:ran") is None
    assert admin.get(f"/api/admin/tasks/{waiting.id}").json["task"]["finished_at"] is not None

    def worker_dropped_it():
        timeline = admin.get(f"/api/admin/tasks/{waiting.id}").json["task"]["timeline"]
        return [e for e in timeline if e["state"] == "REVOKED" and e["worker"]]

    wait_for(worker_dropped_it, 10, "the worker's REVOKED")
    finished = admin.post(f"/api/admin/tasks/{waiting.id}/revoke", json={})
    assert finished.status_code == 409 and finished.json["error"]["code"] == "finished"
    with app.app_context():
        assert db.session.scalars(select(AuditEntry.action)).all() == ["task.revoke"]


def test_a_revoke_holds_for_a_worker_that_starts_later(app, app_redis, admin, celery_app):
    """Remote control reaches only the workers online; a later one reads the revoke."""
    queue = "history-late"
    waiting = celery_app.send_task("tests.broken", ("tests:late",), queue=queue)
    run_of(app, waiting.id)
    assert admin.post(f"/api/admin/tasks/{waiting.id}/revoke", json={}).status_code == 202
    worker = start_worker_process(worker_env(app), "-Q", queue, "-n", "late@%h",
                                  "--include", "tests.sample_tasks")  # fmt: skip
    try:

        def dropped_by_the_new_worker():
            timeline = admin.get(f"/api/admin/tasks/{waiting.id}").json["task"]["timeline"]
            return [e for e in timeline if (e["worker"] or "").startswith("late@")
                    and e["state"] == "REVOKED"]  # fmt: skip

        wait_for(dropped_by_the_new_worker, 60, "the late worker drops the task")
    finally:
        stop(worker)
    assert app_redis.get("tests:late:ran") is None


def test_secrets_never_reach_the_history(app, client, admin, mailbox, worker):
    phone = "+8613812345678"
    assert request_code(client, "someone.private@example.com").status_code == 202
    assert request_code(client, phone, channel="sms").status_code == 202
    code = mailbox.last_code_for("someone.private@example.com")

    def sends_done():
        with app.app_context():
            states = db.session.scalars(
                select(TaskRun.state).where(TaskRun.name.like("auth.send_code_%"))
            ).all()
        return len(states) == 2 and set(states) == {"SUCCESS"}

    wait_for(sends_done, 30, "both sends recorded")
    time.sleep(1)  # and every change of them written
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM task_runs"))
        dump = "\n".join(str(value) for row in rows for value in row)
        send = db.session.scalars(select(TaskRun).where(TaskRun.name == "auth.send_code_sms")).one()
    assert phone not in dump and phone[3:] not in dump
    assert "someone.private" not in dump
    assert code not in dump
    assert "gAAAAA" not in dump  # the start of every Fernet token: no sealed code
    arguments = json.loads(send.arguments)["args"]
    assert arguments[0] == "+861****78" and arguments[1] == "[redacted]"
    response = admin.post(f"/api/admin/tasks/{send.task_id}/retry", json={})
    assert response.status_code == 409  # not failed, and its arguments are incomplete anyway


def test_arguments_a_redaction_rule_cannot_read_are_recorded_hidden(app, admin, celery_app, worker):
    # Sent as an old schedule entry with odd arguments sent it: the task fails,
    # and its history still has every event and what may be kept of its arguments.
    sent = celery_app.send_task("auth.send_code_email", args=[1, 2, 3])
    run_of(app, sent.id, "FAILURE")
    body = admin.get(f"/api/admin/tasks/{sent.id}").json["task"]
    assert body["arguments"] == {"args": ["[redacted]", "[redacted]", 3], "kwargs": {}}
    states = [event["state"] for event in body["timeline"]]
    assert states[:2] == ["SENT", "RECEIVED"] and states[-1] == "FAILURE", states


def test_history_survives_a_worker_restart(app, celery_app):
    """A worker that stops writes what it buffered; a new one adds to the same history."""
    queue = "history-restart"
    env = worker_env(app)
    first = start_worker_process(env, "-Q", queue, "-n", "history1@%h")
    try:
        # A product task, run by the separate worker only.
        before = celery_app.send_task("ops.prune_history", queue=queue)
        run_of(app, before.id, "SUCCESS", timeout=60)
    finally:
        stop(first)
    second = start_worker_process(env, "-Q", queue, "-n", "history2@%h")
    try:
        after = celery_app.send_task("ops.prune_history", queue=queue)
        run = run_of(app, after.id, "SUCCESS", timeout=60)
    finally:
        stop(second)
    assert run.worker.startswith("history2@") and run.queue == queue
    kept = run_of(app, before.id)
    assert kept.state == "SUCCESS" and kept.worker.startswith("history1@")


def test_beat_names_the_entry_that_sent_a_task(app, tmp_path):
    env = worker_env(app, INTERFACE_CACHE_REFRESH_SCHEDULE="1")
    schedule = tmp_path / "beat-schedule"
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks.celery",
            "beat",
            "--loglevel=warning",
            "--schedule",
            str(schedule),
        ],  # fmt: skip
        env=env,
        cwd=ROOT,
    )
    try:

        def sent_by_beat():
            with app.app_context():
                return db.session.scalars(
                    select(TaskRun).where(TaskRun.periodic_entry == "refresh-interface-caches")
                ).first()

        run = wait_for(sent_by_beat, 30, "a refresh sent by beat")
    finally:
        stop(beat)
    assert run.name == "cache.refresh"


def test_pruning_keeps_the_newest_within_days_and_rows(app, celery_app, worker):
    now = utcnow()
    with app.app_context():
        for n in range(8):
            seen = now - timedelta(days=40 if n < 2 else 0, minutes=n)
            db.session.add(TaskRun(task_id=f"old-{n}", name="x", state="SUCCESS",
                                   state_at=seen, seen_at=seen))  # fmt: skip
        db.session.commit()
        assert history.prune(days=30, max_rows=4) == 4
        kept = set(db.session.scalars(select(TaskRun.task_id)))
    assert kept == {"old-2", "old-3", "old-4", "old-5"}
    # Beat runs it as a task: nothing past the defaults here.
    assert builtin_entry(app, "prune-task-history")["every_seconds"] == 3600
    result = celery_app.send_task("ops.prune_history")
    assert run_of(app, result.id, "SUCCESS").result == "0"


def test_batches_merge_in_any_order():
    """Changes of one task from several processes give one row, whatever lands first."""
    t0 = utcnow()
    sent = Change("t", "SENT", t0, {"name": "n", "queue": "q", "arguments": "{}"})
    started = Change("t", "STARTED", t0 + timedelta(seconds=1), {"worker": "w", "retries": 0})
    done = Change("t", "SUCCESS", t0 + timedelta(seconds=2), {"result": "1", "runtime": 1.0})
    for order in ([sent, started, done], [done, started, sent], [started, done, sent]):
        (row,) = merge(order)
        assert (row["state"], row["seen_at"], row["name"], row["worker"], row["runtime"]) == (
            "SUCCESS", t0, "n", "w", 1.0)  # fmt: skip


def test_upsert_merges_in_any_order(app):
    """The same rules in the database: a late batch does not undo a later state."""
    from blueprints.ops.batches import upsert_runs

    t0 = utcnow()
    other = Change("v", "SENT", t0, {"name": "m"})  # two rows a batch: executemany
    done = merge([Change("u", "SUCCESS", t0 + timedelta(seconds=2), {"name": "n", "worker": "w"}),
                  other])  # fmt: skip
    sent = merge([Change("u", "SENT", t0, {"name": "n", "retries": 0, "queue": "q"}), other])
    retried = merge([Change("u", "RETRY", t0 + timedelta(seconds=1), {"retries": 3}), other])
    with app.app_context():
        for batch in (done, sent, retried):
            with db.engine.begin() as connection:
                upsert_runs(connection, batch)
        run = db.session.get(TaskRun, "u")
        # seen_at is the first batch's to land: here the worker's.
        assert (run.state, run.seen_at, run.name, run.worker, run.retries, run.queue) == (
            "SUCCESS", t0 + timedelta(seconds=2), "n", "w", 3, "q")  # fmt: skip
        assert [event["state"] for event in run.events()] == ["SENT", "RETRY", "SUCCESS"]
