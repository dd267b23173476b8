"""What the Flask app context costs a task: no-op tasks run through make_celery's
task class against a bare Celery app with the same settings, one solo worker
each, alternated. Goal: at most 10 % more time per task."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import redis

from bench.harness import ROOT, stack, stop_process, write_result

TASKS = 3000
ROUNDS = 3
APPS = {"bare": "bench.noop_bare", "with_context": "bench.noop_with_context"}


def per_task_ms(environment: dict, app: str) -> float:
    """Queue TASKS no-ops, start a worker, time it from its first message to the last."""
    queue = f"bench-{app}"
    broker = redis.Redis.from_url(environment["CELERY_BROKER_URL"])
    from bench.task_apps import bare, with_context  # built with the stack's settings

    celery = {"bare": bare, "with_context": with_context}[app]
    for _ in range(TASKS):
        celery.send_task(APPS[app], queue=queue)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", f"bench.task_apps:{app}", "worker",
         "--pool=solo", "-Q", queue, "--loglevel=error", "--without-heartbeat",
         "--without-mingle", "--without-gossip"],
        env=environment, cwd=ROOT,
    )  # fmt: skip
    try:
        while broker.llen(queue) >= TASKS:
            time.sleep(0.001)
        started = time.monotonic()
        while broker.llen(queue):
            time.sleep(0.001)
        return (time.monotonic() - started) * 1000 / TASKS
    finally:
        stop_process(worker)


def main() -> dict:
    with stack() as (_, environment, _sink):
        os.environ.update({k: environment[k] for k in ("REDIS_URL", "CELERY_BROKER_URL",
                           "CELERY_RESULT_BACKEND", "DATABASE_URL", "SECRET_KEY")})  # fmt: skip
        rounds = []
        for n in range(ROUNDS):
            bare = per_task_ms(environment, "bare")
            with_context = per_task_ms(environment, "with_context")
            rounds.append({"bare_ms": bare, "with_context_ms": with_context})
            print(f"round {n + 1}: bare {bare:.3f} ms, with the app context "
                  f"{with_context:.3f} ms per task")  # fmt: skip
    bare = statistics.median(r["bare_ms"] for r in rounds)
    with_context = statistics.median(r["with_context_ms"] for r in rounds)
    overhead = with_context / bare - 1
    summary = {"rounds": rounds, "overhead": round(overhead, 4),
               "goals": {"overhead_le_10_percent": overhead <= 0.10}}  # fmt: skip
    table = "\n".join(
        f"| {n + 1} | {r['bare_ms']:.3f} | {r['with_context_ms']:.3f} |"
        for n, r in enumerate(rounds)
    )
    markdown = f"""# What the Flask app context costs a task

`.venv/bin/python -m bench.bench_tasks` (part of `make bench`): {TASKS:,} no-op
tasks queued on Redis, then one solo worker, timed from its first message to
the last; the product's Celery app (`make_celery`: each task runs inside the
Flask app context) against a bare Celery app with the same settings
(`bench/task_apps.py`), alternated.

| round | bare ms/task | with the app context ms/task |
| --- | --- | --- |
{table}

Median **{bare:.3f} ms** bare, **{with_context:.3f} ms** with the app context:
**{overhead:+.1%}** (goal ≤ 10 %)."""
    print(write_result("tasks", markdown, summary))
    return summary


if __name__ == "__main__":
    main()
