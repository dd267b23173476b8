"""Terminate, as an operator presses it on the product's own tasks: a code send
stuck on a slow mail server, a CSV export, the daily report's mail. Each press
stops the work at once, every time; a stopped send delivers nothing; history
says REVOKED and stays so; the audit log says who pressed."""

from __future__ import annotations

import socket
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from exts import db
from models import AuditEntry, DailyReport, TaskRun
from models.types import utcnow
from tests.helpers import issue_code, wait_for
from tests.seckill_helpers import sale_with_orders
from tests.workers import start_worker_process, stop, wait_until_listening, worker_env

pytestmark = pytest.mark.integration

PRESSES = 50
QUEUE = "terminate"
SLOW_SMTP = 8.0  # seconds the mail server takes to accept a recipient: a send hangs there


def state_of(app, task_id: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(TaskRun.state).where(TaskRun.task_id == task_id))


def test_terminate_stops_every_running_task_at_one_press(app, admin, celery_app, mailbox):
    sale_id = sale_with_orders(app, 100_000)  # an export of it runs for seconds
    with app.app_context():
        report = DailyReport(day=date.today() - timedelta(days=1), status="done", figures="[]",
                             finished_at=utcnow())  # fmt: skip
        db.session.add(report)
        db.session.commit()
        report_id = report.id
    tasks = celery_app.tasks

    def start(n: int) -> str:
        kind = n % 3
        if kind == 0:
            _, send = issue_code(app, f"stopped{n}@example.com")
            return tasks["auth.send_code_email"].apply_async(send, queue=QUEUE).id
        if kind == 1:
            return tasks["seckill.export_orders"].apply_async((sale_id,), queue=QUEUE).id
        return tasks["reports.mail_report"].apply_async((report_id,), queue=QUEUE).id

    mailbox.delay = SLOW_SMTP
    env = worker_env(app, ADMIN_EMAILS="admin@example.com")
    worker = start_worker_process(env, "-Q", QUEUE, "-n", "terminate@%h", "-c", "2",
                                  "--loglevel=info", pool="prefork")  # fmt: skip
    task_ids = []
    try:
        wait_until_listening(celery_app, f"terminate@{socket.gethostname()}")
        for n in range(PRESSES):
            task_id = start(n)
            task_ids.append(task_id)
            wait_for(lambda: state_of(app, task_id) == "STARTED", 60, f"press {n}: running")  # noqa: B023
            pressed = admin.post(f"/api/admin/tasks/{task_id}/revoke", json={"terminate": True})
            assert pressed.status_code == 202, (n, pressed.json)
            assert pressed.json["stopped"] is True, (n, pressed.json)
            wait_for(lambda: state_of(app, task_id) == "REVOKED", 10, f"press {n}: revoked")  # noqa: B023
        last_started = time.monotonic()
        # Long enough for a send that went on to reach the mail server, and for
        # anything a dying child might still write to land.
        time.sleep(max(0.0, SLOW_SMTP + 2 - (time.monotonic() - last_started)))
        assert worker.poll() is None, "the worker goes on"
    finally:
        stop(worker)
    assert mailbox.messages == []  # no code and no report went out
    assert [state_of(app, task_id) for task_id in task_ids] == ["REVOKED"] * PRESSES
    timeline = admin.get(f"/api/admin/tasks/{task_ids[0]}").json["task"]["timeline"]
    assert timeline[-1]["detail"] == "terminated by signal 9"
    with app.app_context():
        pressed_by = db.session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "task.terminate")
        ).all()
    assert pressed_by == ["admin@example.com"] * PRESSES


def test_a_solo_worker_cannot_terminate_its_own_task_and_says_so(app, admin, celery_app):
    queue = "terminate-solo"
    worker = start_worker_process(worker_env(app), "-Q", queue, "-n", "solo@%h",
                                  "--include", "tests.sample_tasks")  # fmt: skip
    try:
        wait_until_listening(celery_app, f"solo@{socket.gethostname()}")
        running = celery_app.send_task("tests.sleepy", (4,), queue=queue)
        wait_for(lambda: state_of(app, running.id) == "STARTED", 60, "running")
        pressed = admin.post(f"/api/admin/tasks/{running.id}/revoke", json={"terminate": True})
        assert pressed.status_code == 202
        assert pressed.json["stopped"] is False
        assert "a solo worker cannot stop the task it is running" in pressed.json["warning"]
        # It ends on its own; revoked, it would not run again.
        wait_for(lambda: state_of(app, running.id) == "SUCCESS", 30, "it ends on its own")
    finally:
        stop(worker)
