"""GET /api/banners from the interface cache, against GET /healthz on the same server.

Goals: the cached list at least 0.9x the trivial endpoint's requests per
second, and almost no request reaching the database. For contrast, the same
endpoint with the cache switched off, and with entries that expire every second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from bench.harness import ROOT, stack, write_result, wrk

ROUNDS = 3
SECONDS = 10
CONNECTIONS = 50


def seed(environment: dict) -> None:
    command = [sys.executable, "-m", "flask", "--app", "app", "seed"]
    subprocess.run(command, env=environment, cwd=ROOT, check=True, capture_output=True)


def database_share(run: dict) -> float:
    """Share of answers that read the database: misses (rebuilds) and bypasses."""
    counts = run["counts"]
    return (counts.get("miss", 0) + counts.get("bypass", 0)) / max(1, sum(counts.values()))


def served_as(run: dict) -> str:
    return ", ".join(f"{how} {n}" for how, n in sorted(run["counts"].items()))


def pair(base: str, script: str = "get.lua") -> dict:
    trivial = wrk(f"{base}/healthz", "get.lua", SECONDS, CONNECTIONS)
    banners = wrk(f"{base}/api/banners", script, SECONDS, CONNECTIONS)
    return {"trivial": trivial, "banners": banners, "ratio": banners["rps"] / trivial["rps"]}


def main() -> dict:
    with stack() as (base, environment, _):
        seed(environment)
        wrk(f"{base}/healthz", "get.lua", seconds=3)
        wrk(f"{base}/api/banners", "get.lua", seconds=3)
        rounds = []
        for n in range(ROUNDS):
            rounds.append(pair(base))
            print(f"round {n + 1}: trivial {rounds[-1]['trivial']['rps']:.0f} req/s, "
                  f"banners {rounds[-1]['banners']['rps']:.0f} req/s")  # fmt: skip
        counted = wrk(f"{base}/api/banners", "count_cache.lua", SECONDS, CONNECTIONS)
    with stack({"INTERFACE_CACHE_TTL": "1", "INTERFACE_CACHE_TTL_JITTER": "0"}) as (
        base,
        environment,
        _,
    ):
        seed(environment)
        expiring = wrk(f"{base}/api/banners", "count_cache.lua", SECONDS, CONNECTIONS)
    with stack({"INTERFACE_CACHE_ENABLED": "false"}) as (base, environment, _):
        seed(environment)
        wrk(f"{base}/api/banners", "get.lua", seconds=3)
        uncached = pair(base)

    ratio = statistics.mean(r["ratio"] for r in rounds)
    summary = {
        "ratio": round(ratio, 3),
        "banners_p50_ms": statistics.median(r["banners"]["p50_ms"] for r in rounds),
        "banners_p99_ms": statistics.median(r["banners"]["p99_ms"] for r in rounds),
        "errors": sum(r["banners"]["non_2xx"] + r["banners"]["socket_errors"] for r in rounds),
        "database_share": database_share(counted),
        "x_cache": counted["counts"],
        "expiring_every_second": {"x_cache": expiring["counts"], "rps": expiring["rps"]},
        "uncached_ratio": round(uncached["ratio"], 3),
        "goals": {
            "ratio_ge_0_9": ratio >= 0.9,
            "database_share_le_0_001": database_share(counted) <= 0.001,
        },
    }
    table = "\n".join(
        f"| {n + 1} | {r['trivial']['rps']:.0f} | {r['banners']['rps']:.0f} | "
        f"{r['banners']['p50_ms']:.2f} | {r['banners']['p99_ms']:.2f} | {r['ratio']:.2f} |"
        for n, r in enumerate(rounds)
    )
    markdown = f"""# GET /api/banners from the interface cache

`make bench` (or `.venv/bin/python -m bench.bench_banners`): gunicorn with
2 × cores + 1 sync workers, wrk with 2 threads and {CONNECTIONS} connections,
{SECONDS} s per run, the demo banners from `flask seed`. Baseline: `GET /healthz`
on the same server, alternated with the banner runs.

| round | /healthz req/s | /api/banners req/s | p50 ms | p99 ms | ratio |
| --- | --- | --- | --- | --- | --- |
{table}

Mean ratio **{ratio:.2f}** (goal ≥ 0.9), {summary["errors"]} errors.

**Database reads under load**: in one more {SECONDS} s run, {counted["requests"]} answers
were served as: {served_as(counted)}; **{database_share(counted):.4%}** read the
database (goal: close to zero).

**Entries expiring every second** (`INTERFACE_CACHE_TTL=1`, no jitter), on a fresh
server: {expiring["requests"]} answers, served as: {served_as(expiring)}. One
request rebuilds each expired entry while the others get the previous copy
(`stale`), so the database sees about one read per second, not one per request.

**Cache switched off** (`INTERFACE_CACHE_ENABLED=false`, every request reads the
database): {uncached["banners"]["rps"]:.0f} req/s against {uncached["trivial"]["rps"]:.0f}
for `/healthz`, ratio **{uncached["ratio"]:.2f}**."""
    path = write_result("banners", markdown, {"rounds": rounds, "summary": summary})
    print(markdown)
    print(f"\nwritten to {path}")
    return summary


if __name__ == "__main__":
    main()
