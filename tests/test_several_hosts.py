"""The shop on several hosts: two workers named after two hosts, two web
processes and two beats, against the same Redis, broker and database (as
deploy/ sets them up). Tasks are shared, a result is the same from either web
process, a login made on one holds on the other, and one beat sends."""

from __future__ import annotations

import time

import pytest
import requests

from blueprints.schedules.keys import LOCK_KEY
from tests.helpers import wait_for
from tests.seckill_helpers import open_sale
from tests.test_beat import sends, start_beat
from tests.workers import (
    start_web_process,
    start_worker_process,
    stop,
    wait_until_listening,
    worker_env,
)

pytestmark = pytest.mark.integration

HOSTS = ("worker@host-a", "worker@host-b")
QUEUE = "several-hosts"
TASKS = 40


def test_two_hosts_share_tasks_results_logins_and_one_beat(
    app, celery_app, app_redis, mailbox, tmp_path
):
    env = worker_env(app, ADMIN_EMAILS="admin@example.com", HTTPS="0")
    workers = [start_worker_process(env, "-Q", f"celery,{QUEUE}", "-n", name) for name in HOSTS]
    (web_a, base_a), (web_b, base_b) = start_web_process(env), start_web_process(env)
    beats = []
    try:
        for name in HOSTS:
            wait_until_listening(celery_app, name)

        # Tasks are shared: both hosts' workers take some of them.
        for _ in range(TASKS):
            celery_app.send_task("seckill.preload_today", queue=QUEUE)

        def done_by_each() -> dict[str, int]:
            stats = celery_app.control.inspect(destination=list(HOSTS), timeout=1).stats() or {}
            return {name: stats.get(name, {}).get("total", {}).get("seckill.preload_today", 0)
                    for name in HOSTS}  # fmt: skip

        wait_for(lambda: sum(done_by_each().values()) == TASKS, timeout=60, message="all run")
        shares = done_by_each()
        print(f"\ntasks per host: {shares}")
        assert all(shares.values()), f"each host took some: {shares}"

        # A login made through one web process holds on the other.
        browser = requests.Session()
        mark = mailbox.mark()
        asked = browser.post(f"{base_a}/api/codes",
                             json={"channel": "email", "target": "admin@example.com"})  # fmt: skip
        assert asked.status_code == 202, asked.text
        code = mailbox.last_code_for("admin@example.com", since=mark)
        login = browser.post(f"{base_b}/api/login",
                             json={"target": "admin@example.com", "code": code})  # fmt: skip
        assert login.status_code == 200, login.text
        assert browser.get(f"{base_a}/api/me").json()["user"]["email"] == "admin@example.com"

        # A task queued through one web process: its state is the same from both.
        sale_id = open_sale(app, 5)
        export = browser.post(f"{base_a}/api/admin/sales/{sale_id}/export", json={})
        assert export.status_code == 202, export.text
        task = f"/api/tasks/{export.json()['task_id']}"
        wait_for(lambda: browser.get(f"{base_b}{task}").json()["state"] == "SUCCESS",
                 timeout=60, message="the export done, seen from web B")  # fmt: skip
        assert browser.get(f"{base_a}{task}").json() == browser.get(f"{base_b}{task}").json()

        # Two beats, one sender: an entry due every second runs once a second.
        beats = [start_beat(app, tmp_path, "host-a"), start_beat(app, tmp_path, "host-b")]
        wait_for(lambda: sends(app) >= 2, 60, "a beat sends")
        start = sends(app)
        time.sleep(6)
        sent = sends(app) - start
        assert 3 <= sent <= 8, f"{sent} sends in 6 s: two beats would send about 12"
        holder = app_redis.get(LOCK_KEY)
        assert holder.split(":")[1] in {str(beat.pid) for beat in beats}
    finally:
        stop(*workers, web_a, web_b, *beats)
