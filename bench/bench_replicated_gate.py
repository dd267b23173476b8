"""What it costs the gate to survive a failover, in reservations per second.

One run, one Redis master with one replica and three sentinels on loopback,
the same database and the same 20,000 logged-in buyers, three variants
alternated over ROUNDS rounds, each on a fresh sale that never sells out:

- baseline: the product as it was before the Sentinel work (commit
  BASELINE, checked out into a git worktree), on the master directly;
- fenced: today's product on the master directly (redis://), no replica
  wait: the fence check (failover.py) is the only change on the hot path;
- replicated: today's product through Sentinel, WAIT 1 pipelined after the
  gate's script, as a Sentinel deployment runs it.

Over HTTP (gunicorn, wrk with 50 connections), and in one process (8
threads calling reserve() directly, which shows the gate's own cost without
the request around it). Goal (issue 21): replicated >= 0.8x baseline.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from flask import current_app

from app import create_app
from bench.harness import ROOT, _wait_until_up, stop_process, write_result, wrk
from bench.sales import logged_in_users, new_sale
from blueprints.auth.keys import sessions_key
from blueprints.core.local_copies import local_copies
from blueprints.seckill import failover, gate, keys
from devtools import free_port
from exts import redis_client
from tests.sentinel import SentinelSet

BASELINE = "5b6179c"  # the last commit before issue 21's work
STOCK = 10_000_000  # never sold out
ROUNDS = 3
HTTP_SECONDS = 5
THREADS = 8
THREAD_SECONDS = 5
VARIANTS = ("baseline", "fenced", "replicated")
BUYERS = itertools.count(1)  # in-process buyers: each one once, over every variant


def main() -> None:
    with ExitStack() as cleanup, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        deployment = SentinelSet(workdir / "sentinel")
        cleanup.callback(deployment.stop)
        direct_url = f"redis://127.0.0.1:{deployment.master()}/0"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
               "SECRET_KEY": "bench-secret", "HTTPS": "0", "FLASK_DEBUG": "0",
               "TASK_HISTORY_ENABLED": "0", "SECKILL_MAX_PENDING": str(10**9),
               "LOG_LEVEL": "warning"}  # fmt: skip
        urls = {"baseline": direct_url, "fenced": direct_url, "replicated": deployment.url(0)}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                       env={**env, "REDIS_URL": direct_url}, cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        app = _app(direct_url, env)
        cookies = workdir / "cookies.txt"
        logged_in_users(app, cookies)
        baseline_tree = _worktree(workdir / "baseline", cleanup)
        bases = {
            name: _web({**env, "REDIS_URL": urls[name]},
                       baseline_tree if name == "baseline" else ROOT, cleanup)
            for name in VARIANTS
        }  # fmt: skip

        http: dict[str, list[float]] = {name: [] for name in VARIANTS}
        inside: dict[str, list[float]] = {name: [] for name in VARIANTS}
        in_process = _in_process_variants(app, _app(deployment.url(0), env))
        for _ in range(ROUNDS):
            for name in VARIANTS:
                with app.app_context():
                    redis_client.delete(keys.STREAM)  # every variant writes to a stream as short
                sale_id = new_sale(app, STOCK)
                run = wrk(bases[name], "seckill.lua", HTTP_SECONDS, 50,
                          args=["POST", f"/api/seckill/{sale_id}", str(cookies)])  # fmt: skip
                accepted = run["counts"].get("202", 0) + run["counts"].get("200", 0)
                http[name].append(accepted / HTTP_SECONDS)
                inside[name].append(in_process[name]())
            print({name: round(http[name][-1]) for name in VARIANTS},
                  {name: round(inside[name][-1]) for name in VARIANTS}, flush=True)  # fmt: skip
        _report(http, inside)


def _worktree(path: Path, cleanup: ExitStack) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(path), BASELINE],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    cleanup.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(path)],
                     cwd=ROOT, capture_output=True)  # fmt: skip
    return path


def _web(env: dict, tree: Path, cleanup: ExitStack) -> str:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"],
        env={**env, "PYTHONPATH": str(tree)}, cwd=tree,
    )  # fmt: skip
    cleanup.callback(stop_process, web)
    _wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=60)
    return f"http://127.0.0.1:{port}"


def _app(redis_url: str, env: dict):
    return create_app({"REDIS_URL": redis_url, "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                       "SECRET_KEY": env["SECRET_KEY"], "TASK_HISTORY_ENABLED": False,
                       "SECKILL_MAX_PENDING": 10**9})  # fmt: skip


def _in_process_variants(app, replicated) -> dict:
    """Functions that reserve for THREAD_SECONDS over THREADS threads, on the
    master directly (``app``) or through Sentinel (``replicated``); each
    returns reservations per second."""
    with app.app_context():
        baseline_script = redis_client.register_script(
            (Path(__file__).parent / "baseline_gate.lua").read_text()
        )

    def baseline(sale_id: int, user: int) -> None:
        # reserve() as it was before the Sentinel work, on its script.
        config = current_app.config
        epoch = local_copies(redis_client.current).epoch
        seckill_id = str(uuid.uuid4())
        outcome, *rest = baseline_script(
            keys=[keys.sale_key(sale_id), keys.buyers_key(sale_id), keys.STREAM,
                  keys.result_key(seckill_id), keys.DRAIN_KICKED, sessions_key(user)],
            args=[user, seckill_id, time.time(), config["SECKILL_RESULT_TTL"], sale_id,
                  config["SECKILL_MAX_PENDING"], ""],
        )  # fmt: skip
        assert outcome == "ok" and epoch is not None
        gate.Verdict("ok", seckill_id=seckill_id, left=int(rest[0]), kick=rest[1] == 1)

    def today(sale_id: int, user: int) -> None:
        verdict = gate.reserve(sale_id, user)
        assert verdict.outcome == "ok", verdict

    def rate(on_app, reserve) -> float:
        sale_id = new_sale(app, STOCK)
        with on_app.app_context():
            failover.rebuild()
        counts = [0] * THREADS
        stop_at = time.monotonic() + THREAD_SECONDS

        def run(slot: int) -> None:
            with on_app.app_context():
                while time.monotonic() < stop_at:
                    reserve(sale_id, next(BUYERS))
                    counts[slot] += 1

        threads = [threading.Thread(target=run, args=(slot,)) for slot in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts) / THREAD_SECONDS

    return {
        "baseline": lambda: rate(app, baseline),
        "fenced": lambda: rate(app, today),
        "replicated": lambda: rate(replicated, today),
    }


def _report(http: dict, inside: dict) -> None:
    def ratios(figures: dict) -> dict:
        return {name: statistics.median(v / b for v, b in zip(figures[name], figures["baseline"],
                                                               strict=True))
                for name in ("fenced", "replicated")}  # fmt: skip

    http_ratio, inside_ratio = ratios(http), ratios(inside)
    rows = [
        f"| {where} | {round(statistics.median(figures['baseline']))} "
        f"| {round(statistics.median(figures['fenced']))} "
        f"| {round(statistics.median(figures['replicated']))} "
        f"| {ratio['fenced']:.2f} | {ratio['replicated']:.2f} |"
        for where, figures, ratio in (("HTTP, 50 connections", http, http_ratio),
                                      (f"in one process, {THREADS} threads", inside, inside_ratio))
    ]  # fmt: skip
    markdown = "\n".join([
        "# The gate with a fence and a replica wait (issue 21)", "",
        f"Reservations per second, median of {ROUNDS} alternated rounds; one master, one "
        f"replica, three sentinels on loopback. Baseline: the product at {BASELINE}.", "",
        "| measured | baseline | fenced | fenced + WAIT 1 via Sentinel "
        "| fenced / baseline | WAIT / baseline |",
        "| --- | --- | --- | --- | --- | --- |", *rows, "",
        "Goal: fenced + WAIT 1 >= 0.80x the baseline.",
    ])  # fmt: skip
    print(write_result("replicated_gate", markdown,
                       {"http": http, "in_process": inside, "http_ratio": http_ratio,
                        "in_process_ratio": inside_ratio}))  # fmt: skip


if __name__ == "__main__":
    main()
