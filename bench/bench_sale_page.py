"""GET /api/seckill/activities/<id>, polled by every open sale page, against
GET /healthz on the same server.

Goals: at least 0.9x the trivial endpoint's requests per second, and the
database read at most once a second per web process. The snapshot is kept by
Flask-Caching; this runs it in each process (SimpleCache, the default), shared
in Redis (RedisCache), and switched off (NullCache), to choose by measurement.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import redis

from bench.counting_app import READS
from bench.harness import ROOT, stack, write_result, wrk

ROUNDS = 3
SECONDS = 10
CONNECTIONS = 50
WEB_WORKERS = 5
VARIANTS = ("SimpleCache", "RedisCache", "NullCache")


def run(cache_type: str) -> dict:
    env = {"CACHE_TYPE": cache_type}
    with stack(env, web_workers=WEB_WORKERS, wsgi_app="bench.counting_app:app") as (
        base,
        environment,
        _,
    ):
        seed = [sys.executable, "-m", "flask", "--app", "app", "seed"]
        subprocess.run(seed, env=environment, cwd=ROOT, check=True, capture_output=True)
        sale = f"{base}/api/seckill/activities/1"
        wrk(f"{base}/healthz", "get.lua", seconds=3)
        wrk(sale, "get.lua", seconds=3)
        counter = redis.Redis.from_url(environment["REDIS_URL"])
        rounds = []
        for n in range(ROUNDS):
            trivial = wrk(f"{base}/healthz", "get.lua", SECONDS, CONNECTIONS)
            counter.delete(READS)
            started = time.monotonic()
            page = wrk(sale, "get.lua", SECONDS, CONNECTIONS)
            elapsed = time.monotonic() - started
            reads = int(counter.get(READS) or 0)
            rounds.append({
                "trivial": trivial, "sale": page, "ratio": page["rps"] / trivial["rps"],
                "reads": reads, "seconds": round(elapsed, 2),
                # once a second from the first request on: at most floor(T) + 1 each
                "read_ceiling": WEB_WORKERS * (int(elapsed) + 1),
            })  # fmt: skip
            print(f"{cache_type} round {n + 1}: trivial {trivial['rps']:.0f} req/s, "
                  f"sale {page['rps']:.0f} req/s, {reads} database reads")  # fmt: skip
    return {
        "rounds": rounds,
        "ratio": statistics.mean(r["ratio"] for r in rounds),
        "reads_within_ceiling": all(r["reads"] <= r["read_ceiling"] for r in rounds),
        "reads_per_second_per_process": max(
            r["reads"] / r["seconds"] / WEB_WORKERS for r in rounds
        ),
        "p99_ms": statistics.median(r["sale"]["p99_ms"] for r in rounds),
        "errors": sum(r["sale"]["non_2xx"] + r["sale"]["socket_errors"] for r in rounds),
    }


def met(goal: bool) -> str:
    return "met" if goal else "missed"


def main() -> dict:
    results = {cache_type: run(cache_type) for cache_type in VARIANTS}
    chosen = results["SimpleCache"]
    summary = {
        "variants": results,
        "goals": {
            "ratio_ge_0_9": chosen["ratio"] >= 0.9,
            "reads_at_most_1_per_second_per_process": chosen["reads_within_ceiling"],
        },
    }
    table = "\n".join(
        f"| {cache_type} | {n + 1} | {r['trivial']['rps']:.0f} | {r['sale']['rps']:.0f} | "
        f"{r['sale']['p99_ms']:.2f} | {r['ratio']:.2f} | {r['reads']} in {r['seconds']} s "
        f"(at most {r['read_ceiling']}) |"
        for cache_type, result in results.items()
        for n, r in enumerate(result["rounds"])
    )
    means = "\n".join(
        f"- {cache_type}: ratio **{r['ratio']:.2f}**, **{r['reads_per_second_per_process']:.2f}** "
        f"database reads a second per process, median p99 {r['p99_ms']:.2f} ms, "
        f"{r['errors']} errors"
        for cache_type, r in results.items()
    )
    markdown = f"""# The sale page's poll: GET /api/seckill/activities/<id>

`.venv/bin/python -m bench.bench_sale_page` (part of `make bench`): gunicorn with
{WEB_WORKERS} sync workers, wrk with 2 threads and {CONNECTIONS} connections, {SECONDS} s
per run, the demo sale from `flask seed`. Baseline: `GET /healthz` on the same
server, alternated with the sale runs. Database reads are counted by a SQLAlchemy
hook in each web process (`bench/counting_app.py`).

| Flask-Caching backend | round | /healthz req/s | sale req/s | p99 ms | ratio | database reads |
| --- | --- | --- | --- | --- | --- | --- |
{table}

{means}

Goals, for the default (SimpleCache, a snapshot in each process): ratio ≥ 0.9
({met(summary["goals"]["ratio_ge_0_9"])}), at most one database read a second per
process, that is at most ⌊T⌋ + 1 reads per process in T seconds
({met(summary["goals"]["reads_at_most_1_per_second_per_process"])})."""
    print(write_result("sale_page", markdown, summary))
    return summary


if __name__ == "__main__":
    main()
