"""The operator's API around task history: the list's filters and pages, bad
queries, who may look, the queues and workers, and the audit of edits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from blueprints.ops.history import encode_cursor
from exts import db
from models import TaskRun
from models.types import utcnow
from tests.helpers import wait_for

pytestmark = pytest.mark.integration


def test_the_list_filters_and_pages(app, admin):
    now = utcnow()
    with app.app_context():
        for n in range(7):
            seen = now - timedelta(minutes=n)
            state, parent = "FAILURE" if n < 3 else "SUCCESS", "run-0" if n == 5 else None
            db.session.add(TaskRun(task_id=f"run-{n}", name="a" if n % 2 else "b", state=state,
                                   state_at=seen, seen_at=seen, parent_id=parent))  # fmt: skip
        db.session.commit()
    first = admin.get("/api/admin/tasks?limit=3").json
    assert [r["task_id"] for r in first["tasks"]] == ["run-0", "run-1", "run-2"]
    second = admin.get(f"/api/admin/tasks?limit=3&cursor={first['next_cursor']}").json
    assert [r["task_id"] for r in second["tasks"]] == ["run-3", "run-4", "run-5"]
    assert "tests.flaky" in first["names"] and "celery.chord" not in first["names"]
    failed_a = admin.get("/api/admin/tasks?state=FAILURE&name=a").json["tasks"]
    assert [r["task_id"] for r in failed_a] == ["run-1"]
    since = (now - timedelta(minutes=2, seconds=30)).isoformat()
    until = (now - timedelta(seconds=30)).isoformat()
    window = admin.get("/api/admin/tasks", query_string={"since": since, "until": until}).json
    assert [r["task_id"] for r in window["tasks"]] == ["run-1", "run-2"]
    family = admin.get("/api/admin/tasks?q=run-0").json["tasks"]
    assert [r["task_id"] for r in family] == ["run-0", "run-5"]
    detail = admin.get("/api/admin/tasks/run-0").json["task"]
    assert [r["task_id"] for r in detail["children"]] == ["run-5"]


@pytest.mark.parametrize(
    "query",
    [
        "state=DONE",
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=nonsense",
        "since=yesterday",
        "until=9999-01-01T00:00:00",
        "q=" + "x" * 65,
        "q=a%00b",
        "name=a%00b",
        # Forged cursors: year 1 with an offset, a NUL in the task id.
        "cursor=" + encode_cursor(TaskRun(task_id="x", seen_at=datetime(1, 1, 1, tzinfo=UTC))),
        "cursor="
        + encode_cursor(TaskRun(task_id="a\x00b", seen_at=datetime(2026, 1, 1, tzinfo=UTC))),
    ],  # fmt: skip
)
def test_bad_list_queries_are_400(admin, query):
    response = admin.get(f"/api/admin/tasks?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_field"


def test_only_administrators_see_tasks(client, login_as):
    assert client.get("/api/admin/tasks").status_code == 401
    assert client.get("/admin/tasks").status_code == 302
    login_as("shopper@example.com")
    for path in ("/api/admin/tasks", "/api/admin/queues", "/api/admin/workers",
                 "/api/admin/audit", "/api/admin/tasks/x"):  # fmt: skip
        assert client.get(path).status_code == 403
    assert client.post("/api/admin/tasks/x/retry", json={}).status_code == 403
    assert client.get("/admin/tasks").status_code == 403


def test_unknown_tasks_are_404(admin):
    assert admin.get("/api/admin/tasks/nope").status_code == 404
    assert admin.post("/api/admin/tasks/nope/retry", json={}).status_code == 404
    assert admin.post("/api/admin/tasks/nope/revoke", json={"terminate": True}).status_code == 404
    bad = admin.post("/api/admin/tasks/nope/revoke", json={"terminate": "yes"})
    assert bad.status_code == 400


def test_queues_and_workers(app, admin, worker):
    queues = admin.get("/api/admin/queues").json
    (default,) = [queue for queue in queues["queues"] if queue["name"] == "celery"]
    assert default["name"] == "celery" and default["messages"] >= 0
    started = time.monotonic()
    workers = admin.get("/api/admin/workers").json["workers"]
    took = time.monotonic() - started
    assert took < app.config["WORKER_REPLY_TIMEOUT"] + 2
    (me,) = [w for w in workers if w["answering"]]
    assert me["online"] and me["pool"] == "solo" and me["concurrency"] == 1

    def heartbeat():  # written every 5 s; each test starts with an empty Redis
        (me,) = [w for w in admin.get("/api/admin/workers").json["workers"] if w["answering"]]
        return me["last_heartbeat"]

    assert wait_for(heartbeat, 10, "a heartbeat") > time.time() - 10


def test_banner_and_sale_edits_are_audited(app, admin):
    banner = admin.post("/api/admin/banners", json={"title": "Hi", "image_url": "/static/a.svg"})
    assert banner.status_code == 201
    banner_id = banner.json["banner"]["id"]
    admin.patch(f"/api/admin/banners/{banner_id}", json={"title": "Hello"})
    admin.delete(f"/api/admin/banners/{banner_id}", json={})
    entries = admin.get("/api/admin/audit").json["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("banner.delete", f"banner:{banner_id}"),
        ("banner.update", f"banner:{banner_id}"),
        ("banner.create", f"banner:{banner_id}"),
    ]
    assert entries[1]["detail"] == {"title": "Hello"}
    assert all(e["actor"] == "admin@example.com" for e in entries)
    page = admin.get("/api/admin/audit?limit=2").json
    rest = admin.get(f"/api/admin/audit?limit=2&before={page['next_before']}").json
    assert len(page["entries"]) == 2 and len(rest["entries"]) == 1
