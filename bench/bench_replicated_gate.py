"""What it costs the gate to survive a failover, as reservations per second.

One run, one Redis master with one replica (and three sentinels), the same
8 threads reserving for distinct buyers, alternated over ROUNDS rounds:

- baseline: the gate before the Sentinel work (bench/baseline_gate.lua,
  called as reserve() called it then), on the master directly;
- fenced: today's gate on the master directly (redis://), no replica wait:
  the fence check (INFO run_id, failover.py) is the only change;
- replicated: today's gate through Sentinel with WAIT 1 pipelined after
  the script, as a Sentinel deployment runs it.

Goal (issue 21): replicated >= 0.8x baseline.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from flask import current_app

from app import create_app
from bench.harness import write_result
from blueprints.auth.sessions import sessions_key
from blueprints.caching.local import local_copies
from blueprints.seckill import admin, failover, gate, keys
from exts import redis_client
from models.types import utcnow
from tests.sentinel import SentinelSet

THREADS = 8
SECONDS = 5
ROUNDS = 3
STOCK = 10_000_000  # never sold out
BUYERS = itertools.count(1)


def _app(redis_url: str, database: str, wait_replicas: int):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": redis_url, "SECRET_KEY": "bench",
        "REDIS_WAIT_REPLICAS": wait_replicas, "TASK_HISTORY_ENABLED": False,
        "SECKILL_MAX_PENDING": 10**9,
    })  # fmt: skip


def _rate(app, reserve) -> float:
    """Reservations per second over THREADS threads for SECONDS."""
    counts = [0] * THREADS
    stop_at = time.monotonic() + SECONDS

    def run(slot: int) -> None:
        with app.app_context():
            while time.monotonic() < stop_at:
                reserve(next(BUYERS))  # each buyer once, over every variant
                counts[slot] += 1

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / SECONDS


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    deployment = SentinelSet(workdir)
    try:
        database = f"sqlite:///{workdir / 'bench.db'}"
        direct = _app(f"redis://127.0.0.1:{deployment.master()}/0", database, 0)
        replicated = _app(deployment.url(0), database, 1)
        with direct.app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
            now = utcnow()
            sale, _ = admin.create({
                "title": "Bench", "product": "A thing", "price_cents": 100, "total_stock": STOCK,
                "starts_at": now - timedelta(minutes=1), "ends_at": now + timedelta(hours=2),
            })  # fmt: skip
            sale_id = sale.id
            failover.rebuild()
            baseline_script = redis_client.register_script(
                (Path(__file__).parent / "baseline_gate.lua").read_text()
            )

        def baseline(user: int) -> None:
            # The product's reserve() before the Sentinel work, on its script.
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

        def today(user: int) -> None:
            verdict = gate.reserve(sale_id, user)
            assert verdict.outcome == "ok", verdict

        rows, ratios = [], {"fenced": [], "replicated": []}
        for round_ in range(1, ROUNDS + 1):
            redis_client_trim(direct)
            base = _rate(direct, baseline)
            fenced = _rate(direct, today)
            wait = _rate(replicated, today)
            ratios["fenced"].append(fenced / base)
            ratios["replicated"].append(wait / base)
            rows.append(f"| {round_} | {base:.0f} | {fenced:.0f} | {wait:.0f} "
                        f"| {fenced / base:.2f} | {wait / base:.2f} |")  # fmt: skip
            print(rows[-1], flush=True)
        medians = {name: statistics.median(values) for name, values in ratios.items()}
        markdown = "\n".join([
            "# The gate with a fence and a replica wait (issue 21)", "",
            f"{THREADS} threads in one process, {SECONDS} s per variant, {ROUNDS} rounds "
            "alternated; one master, one replica, three sentinels on loopback.", "",
            "| round | baseline res/s | fenced res/s | fenced + WAIT 1 res/s "
            "| fenced / baseline | WAIT / baseline |",
            "| --- | --- | --- | --- | --- | --- |", *rows, "",
            f"Median: fenced {medians['fenced']:.2f}x, fenced + WAIT 1 "
            f"{medians['replicated']:.2f}x the baseline (goal >= 0.80x).",
        ])  # fmt: skip
        print(write_result("replicated_gate", markdown, {"rounds": rows, "medians": medians}))
    finally:
        deployment.stop()


def redis_client_trim(app) -> None:
    """Empty the stream between rounds, so every variant writes to the same sizes."""
    with app.app_context():
        redis_client.delete(keys.STREAM)


if __name__ == "__main__":
    main()
