"""What the product adds around a task: no-op tasks run by one solo worker of
a bare Celery app with the same settings, of the product's app (make_celery:
the Flask app context) with task history off, and with it on (the default).
Alternated rounds. Goals: the app context at most 10 % more time per task,
task history at most 5 % more than the same worker without it."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import psutil
import redis
from sqlalchemy import func, select

from bench.harness import ROOT, stack, stop_process, write_result
from exts import db
from models import TaskRun

TASKS = 3000
ROUNDS = 6
# variant: (Celery app in bench.task_apps, task name, task history on)
VARIANTS = {
    "bare": ("bare", "bench.noop_bare", False),
    "context": ("with_context", "bench.noop_with_context", False),
    "history": ("with_context", "bench.noop_with_context", True),
}


def per_task(environment: dict, variant: str) -> dict[str, float]:
    """Queue TASKS no-ops, start a worker, and measure it from its first message
    until the last is done and, with history on, every run is written: wall
    time, and the CPU time of the worker process (its history thread included),
    which other tenants of a shared machine disturb far less."""
    app, name, history = VARIANTS[variant]
    queue = f"bench-{variant}"
    broker = redis.Redis.from_url(environment["CELERY_BROKER_URL"])
    from bench.task_apps import bare, flask_app, with_context  # with the stack's settings

    celery = {"bare": bare, "with_context": with_context}[app]
    flask_app.config["TASK_HISTORY_ENABLED"] = False  # the worker's recording is measured
    for _ in range(TASKS):
        celery.send_task(name, queue=queue)
    env = {**environment, "TASK_HISTORY_ENABLED": "1" if history else "0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", f"bench.task_apps:{app}", "worker",
         "--pool=solo", "-Q", queue, "--loglevel=error", "--without-heartbeat",
         "--without-mingle", "--without-gossip"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    process = psutil.Process(worker.pid)
    try:
        while broker.llen(queue) >= TASKS:
            time.sleep(0.001)
        started, cpu_before = time.monotonic(), _cpu(process)
        while broker.llen(queue):
            time.sleep(0.001)
        while history and _written(queue) < TASKS:
            time.sleep(0.02)
        wall, cpu = time.monotonic() - started, _cpu(process) - cpu_before
        return {"wall_ms": wall * 1000 / TASKS, "cpu_ms": cpu * 1000 / TASKS}
    finally:
        stop_process(worker)


def recording_cpu_ms(tasks: int = 5000) -> float:
    """The CPU time task history spends per task, measured in this process: the
    changes a worker records for one no-op task (received, started, succeeded,
    with the fields its signals give), merged and upserted into the database
    (where the task's SENT row is already, as the web wrote it)."""
    from bench.task_apps import flask_app
    from blueprints.ops.recorder import Recorder

    recorder = Recorder(flask_app)
    recorder.enabled, recorder.interval = True, 3600  # flushed here, not by its thread
    ids = [f"bench-recording-{n}" for n in range(tasks)]
    for task_id in ids:  # what the web recorded when it queued them
        recorder.add(task_id, "SENT", counted=False, name="bench.noop", queue="celery",
                     arguments='{"args": [], "kwargs": {}}', replayable=True)  # fmt: skip
    recorder.flush()
    # Not counted in /metrics: the workers with history off count the same.
    fields = {"name": "bench.noop", "worker": "celery@bench", "queue": "celery", "counted": False}
    started = time.process_time()
    for task_id in ids:
        arguments = '{"args": [], "kwargs": {}}'
        recorder.add(task_id, "RECEIVED", arguments=arguments, replayable=True, **fields)
        recorder.add(task_id, "STARTED", retries=0, **fields)
        recorder.add(task_id, "SUCCESS", runtime=0.0001, result="null",
                     error="", traceback="", **fields)  # fmt: skip
        if len(recorder.buffer) >= 1500:  # about what a 0.5 s flush holds at this rate
            recorder.flush()
    recorder.flush()
    return (time.process_time() - started) * 1000 / tasks


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _written(queue: str) -> int:
    from bench.task_apps import flask_app

    with flask_app.app_context():
        query = select(func.count()).where(TaskRun.queue == queue, TaskRun.state == "SUCCESS")
        return db.session.scalar(query) or 0


def main() -> dict:
    with stack() as (_, environment, _sink):
        os.environ.update({k: environment[k] for k in ("REDIS_URL", "CELERY_BROKER_URL",
                           "CELERY_RESULT_BACKEND", "DATABASE_URL", "SECRET_KEY")})  # fmt: skip
        rounds = []
        for n in range(ROUNDS):
            order = list(VARIANTS)[n % 3 :] + list(VARIANTS)[: n % 3]  # no variant always first
            measured = {variant: per_task(environment, variant) for variant in order}
            rounds.append({variant: measured[variant] for variant in VARIANTS})
            print(f"round {n + 1}: " + ", ".join(
                f"{v} {m['wall_ms']:.3f} ms ({m['cpu_ms']:.3f} ms CPU)" for v, m in measured.items()
            ))  # fmt: skip

        recording = statistics.median(recording_cpu_ms() for _ in range(3))
        print(f"recording: {recording:.3f} ms CPU per task")

    def median(variant: str, kind: str) -> float:
        return statistics.median(r[variant][kind] for r in rounds)

    medians = {v: {k: median(v, k) for k in ("wall_ms", "cpu_ms")} for v in VARIANTS}
    overhead = {
        kind: {
            "context": medians["context"][kind] / medians["bare"][kind] - 1,
            "history": medians["history"][kind] / medians["context"][kind] - 1,
        }
        for kind in ("wall_ms", "cpu_ms")
    }
    summary = {
        "rounds": rounds,
        "medians": medians,
        "overhead": overhead,
        "recording_cpu_ms": recording,
        "recording_share": recording / medians["context"]["cpu_ms"],
        "goals": {
            "context_le_10_percent": overhead["cpu_ms"]["context"] <= 0.10,
            "history_le_5_percent": recording / medians["context"]["cpu_ms"] <= 0.05,
        },
    }
    table = "\n".join(
        f"| {n + 1} | " + " | ".join(
            f"{r[v]['wall_ms']:.3f} / {r[v]['cpu_ms']:.3f}" for v in VARIANTS
        ) + " |"
        for n, r in enumerate(rounds)
    )  # fmt: skip
    cpu, wall = overhead["cpu_ms"], overhead["wall_ms"]
    markdown = f"""# What the product adds around a task

`.venv/bin/python -m bench.bench_tasks` (part of `make bench`): {TASKS:,} no-op
tasks queued on Redis, then one solo worker, measured from its first message
until the last is done and, with task history on, written to the database
(SQLite here); rounds of a bare Celery app with the same settings
(`bench/task_apps.py`), the product's app (`make_celery`: each task runs
inside the Flask app context) with task history off, and with it on, in
rotating order. Each cell: wall ms per task / the worker's CPU ms per task
(its history thread included). On this shared machine one variant's times
vary by ±20 % between rounds, more than the effect measured, so task history
is also measured alone: the CPU time its recording of one task's changes takes
(`recording_cpu_ms`: received, started, succeeded, merged and upserted into
SQLite in batches, {recording * 1000:.0f} µs), against the no-op task's CPU time.

| round | bare | app context | app context + history |
| --- | --- | --- | --- |
{table}

Medians, CPU: **{medians["bare"]["cpu_ms"]:.3f} ms** bare,
**{medians["context"]["cpu_ms"]:.3f} ms** with the app context (**{cpu["context"]:+.1%}**,
goal ≤ 10 %), **{medians["history"]["cpu_ms"]:.3f} ms** with task history too
({cpu["history"]:+.1%} over the same worker without it: a median of noisy rounds).
Wall: {wall["context"]:+.1%} for the app context, {wall["history"]:+.1%} for task history.

**Task history costs {recording * 1000:.0f} µs of CPU per task:
{recording / medians["context"]["cpu_ms"]:.1%} of a no-op task** (goal ≤ 5 %)."""
    print(write_result("tasks", markdown, summary))
    return summary


if __name__ == "__main__":
    main()
