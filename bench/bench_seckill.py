"""The flash-sale gate under load, against a trivial endpoint and the naive design.

Each run opens a fresh sale with 1,000 units and lets 50 connections post
"buy" as 20,000 distinct logged-in users. Reported in one run on the same
server: the gate's requests/s and p50/p99 against GET /healthz and against the
naive design (every request queues a task); oversold units over 10 sales;
and how fast one worker drains reservations into orders.
Goals: gate >= 0.8x trivial and >= 3x naive, p99 < 50 ms, 0 oversold, drain >= 1,000/s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from app import create_app
from bench.harness import stack, write_result, wrk
from blueprints.auth import sessions
from blueprints.seckill import admin, keys
from exts import db, redis_client
from models import SeckillOrder, User
from models.types import utcnow

USERS = 20_000
STOCK = 1_000
SALES = 10
ROUNDS = 3
SECONDS = 10
SHORT_SECONDS = 3
CONNECTIONS = 50
LIGHT_CONNECTIONS = 8
DRAIN_RESERVATIONS = 15_000


def bench_app(environment: dict):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": environment["DATABASE_URL"],
            "REDIS_URL": environment["REDIS_URL"],
            "SECRET_KEY": environment["SECRET_KEY"],
            "CELERY": {
                "broker_url": environment["CELERY_BROKER_URL"],
                "result_backend": environment["CELERY_RESULT_BACKEND"],
            },
        }
    )


def logged_in_users(app, path: Path) -> None:
    """USERS accounts, and one session cookie per line in ``path``."""
    with app.app_context():
        now = utcnow()
        rows = [{"email": f"bench{n}@example.com", "created_at": now} for n in range(USERS)]
        db.session.execute(insert(User), rows)
        db.session.commit()
        ids = db.session.scalars(select(User.id).where(User.email.like("bench%"))).all()
        live = {i: sessions.start(i) for i in ids}  # as their logins would
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    lines = (
        f"{name}={serializer.dumps({'_user_id': str(i), '_fresh': True, 'sid': live[i]})}"
        for i in ids
    )
    path.write_text("\n".join(lines) + "\n")


def new_sale(app, stock: int) -> int:
    now = utcnow()
    with app.app_context():
        sale, _ = admin.create(
            {
                "title": "Bench sale",
                "product": "A thing",
                "price_cents": 990,
                "total_stock": stock,
                "starts_at": now - timedelta(seconds=1),
                "ends_at": now + timedelta(hours=1),
            }
        )
        return sale.id


def settled_orders(app, activity_id: int, timeout: float = 120) -> int:
    """Orders of the sale once no reservation waits any more."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while redis_client.xlen(keys.STREAM) and time.monotonic() < deadline:
            time.sleep(0.1)
        query = select(func.count()).where(SeckillOrder.activity_id == activity_id)
        return db.session.scalar(query)


def as_users(base: str, method: str, path: str, cookies: Path, seconds: int,
             connections: int = CONNECTIONS) -> dict:  # fmt: skip
    return wrk(base, "seckill.lua", seconds, connections, args=[method, path, str(cookies)])


def gate_run(app, base: str, cookies: Path, seconds: int, connections: int = CONNECTIONS) -> dict:
    activity_id = new_sale(app, STOCK)
    run = as_users(base, "POST", f"/api/seckill/{activity_id}", cookies, seconds, connections)
    orders = settled_orders(app, activity_id)
    with app.app_context():
        left = int(redis_client.hget(keys.sale_key(activity_id), "stock"))
    accepted = run["counts"].get("202", 0)
    run["sale"] = {"accepted": accepted, "orders": orders, "stock_left": left,
                   "oversold": max(0, accepted - STOCK, orders - STOCK, -left)}  # fmt: skip
    return run


def drain_rate(app, base: str, cookies: Path) -> dict:
    """Reservations piled up with no drain, then one drain task: orders per second."""
    activity_id = new_sale(app, DRAIN_RESERVATIONS)
    with app.app_context():
        redis_client.set(keys.DRAIN_KICKED, "1", ex=600)  # hold the drain back while the pile grows
    # Long enough for every user to try once: the pile then holds one reservation per unit.
    as_users(base, "POST", f"/api/seckill/{activity_id}", cookies, 30)
    with app.app_context():
        waiting = redis_client.xlen(keys.STREAM)
    with app.app_context():
        start = time.monotonic()
        app.extensions["celery"].send_task("seckill.drain_orders")
        while redis_client.xlen(keys.STREAM):
            time.sleep(0.02)
        seconds = time.monotonic() - start
        written = db.session.scalar(
            select(func.count()).where(SeckillOrder.activity_id == activity_id)
        )
    return {"reservations": waiting, "written": written, "seconds": round(seconds, 2),
            "orders_per_second": round(waiting / seconds)}  # fmt: skip


def answers(run: dict) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(run["counts"].items()))


def main() -> dict:
    env = {"SECKILL_DRAIN_LIMIT": str(DRAIN_RESERVATIONS)}
    with stack(env, wsgi_app="bench.naive_app:app") as (base, environment, _), \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        app = bench_app(environment)
        cookies = Path(tmp) / "cookies.txt"
        logged_in_users(app, cookies)
        naive_sale = new_sale(app, STOCK)
        wrk(f"{base}/healthz", "get.lua", seconds=3)
        gate_run(app, base, cookies, SHORT_SECONDS)  # warm-up, not counted

        rounds = []
        for n in range(ROUNDS):
            anonymous = wrk(f"{base}/healthz", "get.lua", SECONDS, CONNECTIONS)
            trivial = as_users(base, "GET", "/healthz", cookies, SECONDS)
            gate = gate_run(app, base, cookies, SECONDS)
            naive = as_users(base, "POST", f"/bench/naive/{naive_sale}", cookies, SECONDS)
            assert set(naive["counts"]) == {"202"}, f"the naive design must queue: {naive}"
            assert set(trivial["counts"]) == {"200"}, trivial
            rounds.append(
                {"anonymous": anonymous, "trivial": trivial, "gate": gate, "naive": naive}
            )
            print(f"round {n + 1}: trivial {anonymous['rps']:.0f}, logged in "
                  f"{trivial['rps']:.0f}, gate {gate['rps']:.0f} (p99 {gate['p99_ms']} ms), "
                  f"naive {naive['rps']:.0f} req/s")  # fmt: skip
        light = gate_run(app, base, cookies, SECONDS, connections=LIGHT_CONNECTIONS)
        sales = [r["gate"]["sale"] for r in rounds]
        for _ in range(SALES - ROUNDS):
            sales.append(gate_run(app, base, cookies, SHORT_SECONDS)["sale"])
        drain = drain_rate(app, base, cookies)
        print(f"drain: {drain}")

    def mean(part: str) -> float:
        return statistics.mean(r[part]["rps"] for r in rounds)

    vs_trivial = mean("gate") / mean("trivial")
    vs_anonymous = mean("gate") / mean("anonymous")
    vs_naive = mean("gate") / mean("naive")
    p50 = statistics.median(r["gate"]["p50_ms"] for r in rounds)
    p99 = statistics.median(r["gate"]["p99_ms"] for r in rounds)
    oversold = sum(sale["oversold"] for sale in sales)
    summary = {
        "gate_vs_trivial": round(vs_trivial, 3),
        "gate_vs_anonymous_trivial": round(vs_anonymous, 3),
        "light_load": {k: light[k] for k in ("rps", "p50_ms", "p99_ms")},
        "gate_vs_naive": round(vs_naive, 3),
        "gate_p50_ms": p50,
        "gate_p99_ms": p99,
        "oversold_units": oversold,
        "sales": sales,
        "drain": drain,
        "goals": {
            "gate_ge_0_8_trivial": vs_trivial >= 0.8,
            "gate_ge_3_naive": vs_naive >= 3,
            "p99_lt_50ms": p99 < 50,
            "no_oversell": oversold == 0,
            "drain_ge_1000_per_s": drain["orders_per_second"] >= 1000,
        },
    }
    table = "\n".join(
        f"| {n + 1} | {r['anonymous']['rps']:.0f} | {r['trivial']['rps']:.0f} | "
        f"{r['gate']['rps']:.0f} | "
        f"{r['gate']['p50_ms']:.2f} | {r['gate']['p99_ms']:.2f} | {r['naive']['rps']:.0f} | "
        f"{answers(r['gate'])} |"
        for n, r in enumerate(rounds)
    )
    sales_line = ", ".join(f"{s['accepted']}/{s['orders']}" for s in sales)
    markdown = f"""# Flash-sale gate under load

`make bench` (or `.venv/bin/python -m bench.bench_seckill`): gunicorn with
2 × cores + 1 sync workers, wrk with 2 threads and {CONNECTIONS} connections, {SECONDS} s per
run, each request as the next of {USERS:,} logged-in users; every gate run is a
fresh sale of {STOCK:,} units. Trivial: `GET /healthz`, without a cookie and
as the same logged-in users (Flask then reads their session cookie too).
Naive: the same login check, then `.delay()` of an order task per request
(`bench/naive_app.py`). All on the same server, alternated; throughput in requests per second.

| round | /healthz | /healthz, logged in | gate | gate p50 ms | gate p99 ms | naive | gate answers |
| --- | --- | --- | --- | --- | --- | --- | --- |
{table}

Gate **{vs_trivial:.2f}×** the trivial endpoint for the same logged-in users
({vs_anonymous:.2f}× without a cookie; goal ≥ 0.8) and **{vs_naive:.1f}×** the
naive design (goal ≥ 3); p50 **{p50:.2f} ms**, p99 **{p99:.2f} ms** at
{CONNECTIONS} connections (goal < 50 ms). At {CONNECTIONS} connections latency is
mostly the wait for one of the five gunicorn workers (p50 ≈ connections ÷
throughput; `/healthz` itself is no faster). With {LIGHT_CONNECTIONS} connections:
{light["rps"]:.0f} req/s, p50 **{light["p50_ms"]:.2f} ms**, p99 **{light["p99_ms"]:.2f} ms**.

**Oversold units over {len(sales)} sales: {oversold}** (accepted/orders per sale: {sales_line}).

**Drain**: {drain["reservations"]:,} reservations waiting, one drain task on one
solo worker wrote {drain["written"]:,} orders in {drain["seconds"]} s:
**{drain["orders_per_second"]:,} orders/s** (goal ≥ 1,000)."""
    path = write_result("seckill", markdown, {"rounds": rounds, "summary": summary})
    print(markdown)
    print(f"\nwritten to {path}")
    return summary


if __name__ == "__main__":
    main()
