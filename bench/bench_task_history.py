"""The task list at full retention: 1,000,000 runs in task_runs, on SQLite and
(where one answers on 5432) PostgreSQL, and GET /api/admin/tasks with the
filters an operator uses. Goal: p95 under 200 ms for a filtered list."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from bench.harness import ROOT, fresh_postgres, write_result
from blueprints.auth import sessions
from blueprints.ops.history import encode_cursor
from devtools import free_port, redis_server
from exts import db
from models import TaskRun, User

ROWS = 1_000_000
DAYS = 30
REQUESTS = 40  # per kind of query
NAMES = [f"bench.task{n}" for n in range(10)]
START = datetime.now(UTC) - timedelta(days=DAYS)
STEP = DAYS * 86400 / ROWS  # seconds between two runs

# One in 53 failed, one in 97 retrying, one in 89 revoked; one in 20 has a parent
# (its root), the others are their own root, as Celery records them.
STATE = ("CASE WHEN i % 53 = 0 THEN 'FAILURE' WHEN i % 97 = 0 THEN 'RETRY'"
         " WHEN i % 89 = 0 THEN 'REVOKED' ELSE 'SUCCESS' END")  # fmt: skip
FILL = {
    "sqlite": f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})
        INSERT INTO task_runs (task_id, name, state, state_at, seen_at, queue, worker,
                               retries, runtime, parent_id, root_id, timeline)
        SELECT printf('bench-%08d', i), 'bench.task' || (i % 10), {STATE},
               strftime('%Y-%m-%d %H:%M:%f', :start + i * :step, 'unixepoch') || '000',
               strftime('%Y-%m-%d %H:%M:%f', :start + i * :step, 'unixepoch') || '000',
               'celery', 'celery@bench', 0, 0.01,
               CASE WHEN i % 20 = 0 THEN printf('bench-%08d', i - 1) END,
               printf('bench-%08d', CASE WHEN i % 20 = 0 THEN i - 1 ELSE i END), ''
        FROM n""",
    "postgresql": f"""
        INSERT INTO task_runs (task_id, name, state, state_at, seen_at, queue, worker,
                               retries, runtime, parent_id, root_id, timeline)
        SELECT 'bench-' || lpad(i::text, 8, '0'), 'bench.task' || (i % 10), {STATE},
               to_timestamp(:start + i * :step), to_timestamp(:start + i * :step),
               'celery', 'celery@bench', 0, 0.01,
               CASE WHEN i % 20 = 0 THEN 'bench-' || lpad((i - 1)::text, 8, '0') END,
               'bench-' || lpad((CASE WHEN i % 20 = 0 THEN i - 1 ELSE i END)::text, 8, '0'), ''
        FROM generate_series(1, {ROWS}) AS i""",
}


def moment(i: int) -> datetime:
    return START + timedelta(seconds=i * STEP)


def queries() -> dict[str, Callable[[], dict]]:
    """Kinds of list request, each a function giving a random query string."""

    def hour_window() -> dict:
        start = moment(random.randrange(ROWS))
        return {"since": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat()}

    def deep_cursor() -> dict:
        i = random.randrange(ROWS // 10, ROWS)
        run = TaskRun(task_id=f"bench-{i:08d}", seen_at=moment(i))
        return {"cursor": encode_cursor(run)}

    return {
        "newest": lambda: {},
        "state=FAILURE": lambda: {"state": "FAILURE"},
        "state=SUCCESS": lambda: {"state": "SUCCESS"},
        "name": lambda: {"name": random.choice(NAMES)},
        "an hour": hour_window,
        "state + name": lambda: {"state": "FAILURE", "name": random.choice(NAMES)},
        "name + an hour": lambda: {"name": random.choice(NAMES), **hour_window()},
        "state + an hour": lambda: {"state": "FAILURE", **hour_window()},
        "deep page (cursor)": deep_cursor,
        "a task id (q)": lambda: {"q": f"bench-{random.randrange(1, ROWS) // 20 * 20 - 1:08d}"},
    }


def measure(database_url: str, redis_url: str) -> dict:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                      "SECRET_KEY": "bench", "ADMIN_EMAILS": ["admin@bench"],
                      "TASK_HISTORY_ENABLED": False, "HTTPS": False})  # fmt: skip
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        started = time.monotonic()
        dialect = db.engine.dialect.name
        db.session.execute(text(FILL[dialect]), {"start": START.timestamp(), "step": STEP})
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        filled = time.monotonic() - started
        admin = User(email="admin@bench")
        db.session.add(admin)
        db.session.commit()
        session = {"_user_id": str(admin.id), "_fresh": True, "sid": sessions.start(admin.id)}
    client = app.test_client()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    client.set_cookie("session", serializer.dumps(session))
    results = {}
    random.seed(7)
    for kind, make in queries().items():
        times = []
        for _ in range(REQUESTS):
            path = f"/api/admin/tasks?{urlencode(make())}"
            begin = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - begin) * 1000)
            body = response.get_json()
            assert response.status_code == 200, (path, body)
            assert body["tasks"] or kind == "a task id (q)", path
        times.sort()
        results[kind] = {"p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(times[int(0.95 * len(times)) - 1], 1)}  # fmt: skip
        print(f"{dialect} {kind}: {results[kind]}")
    return {"fill_seconds": round(filled, 1), "queries": results}


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        redis_process = redis_server.start(port, Path(tmp) / "redis")
        try:
            redis_url = f"redis://127.0.0.1:{port}/0"
            found = {"sqlite": measure(f"sqlite:///{tmp}/history.db", redis_url)}
            pg = fresh_postgres("bench_task_history")
            if pg:
                found["postgresql"] = measure(pg, redis_url)
        finally:
            redis_process.terminate()
    worst = max(q["p95_ms"] for db_found in found.values() for q in db_found["queries"].values())
    summary = {"rows": ROWS, "requests_per_kind": REQUESTS, **found,
               "goals": {"filtered_list_p95_lt_200_ms": worst < 200}}  # fmt: skip
    kinds = list(queries())
    header = "| query | " + " | ".join(f"{name} p50 / p95 ms" for name in found) + " |"
    rows = "\n".join(
        f"| {kind} | " + " | ".join(
            f"{found[name]['queries'][kind]['p50_ms']} / {found[name]['queries'][kind]['p95_ms']}"
            for name in found
        ) + " |"
        for kind in kinds
    )  # fmt: skip
    markdown = f"""# The task list at full retention

`.venv/bin/python -m bench.bench_task_history` (part of `make bench`):
{ROWS:,} runs over {DAYS} days in `task_runs` (10 task names; 2 % failed),
then {REQUESTS} requests of each kind to `GET /api/admin/tasks` through the app
(an administrator's session, a page of 50), random parameters each time.
{" and ".join(found)}: filled in {", ".join(f"{found[n]['fill_seconds']} s" for n in found)}.

{header}
|{" --- |" * (len(found) + 1)}
{rows}

Slowest p95: **{worst} ms** (goal < 200 ms)."""
    print(write_result("task_history", markdown, summary))
    return summary


if __name__ == "__main__":
    main()
