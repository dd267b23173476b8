"""Two beats for ten minutes on five entries due every 2 s: duplicate runs,
counted from task history (goal 0), and how long the standby takes to send
after the sending beat is SIGKILLed, which happens every 150 s (goal ≤ 30 s;
the lease is BEAT_LOCK_SECONDS, 10 s). A duplicate is two sends of one entry
less than a second apart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from bench.harness import ROOT, stack, stop_process, write_result

MINUTES = float(os.environ.get("BENCH_BEAT_MINUTES", "10"))
ENTRIES = 5
EVERY = 2.0
KILL_EVERY = 150.0


def start_beat(env: dict, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks.celery", "beat",
                             "--loglevel=warning", "--schedule", f"/tmp/bench-beat-{name}"],
                            env=env, cwd=ROOT)  # fmt: skip


def main() -> dict:
    with stack() as (_, environment, _sink):
        os.environ.update({k: environment[k] for k in ("REDIS_URL", "CELERY_BROKER_URL",
                           "CELERY_RESULT_BACKEND", "DATABASE_URL", "SECRET_KEY")})  # fmt: skip
        import redis

        from app import create_app
        from blueprints.schedules.keys import LOCK_KEY
        from exts import db
        from models import PeriodicEntry, TaskRun
        from models.types import utcnow

        app = create_app()
        names = [f"bench-every-2s-{n}" for n in range(ENTRIES)]
        with app.app_context():
            for name in names:
                entry = PeriodicEntry(name=name, task="ops.prune_history", kind="interval",
                                      every_seconds=EVERY, queue="bench-nowhere")  # fmt: skip
                db.session.add(entry)
            db.session.commit()
        client = redis.Redis.from_url(environment["REDIS_URL"], decode_responses=True)
        beats = {"a": start_beat(environment, "a"), "b": start_beat(environment, "b")}
        kills = []
        started = time.monotonic()
        try:
            next_kill = started + KILL_EVERY
            while time.monotonic() - started < MINUTES * 60:
                time.sleep(1)
                if time.monotonic() < next_kill:
                    continue
                holder = client.get(LOCK_KEY) or ""
                for name, beat in beats.items():
                    if holder.split(":")[1:2] == [str(beat.pid)]:
                        beat.send_signal(signal.SIGKILL)
                        beat.wait()
                        kills.append(utcnow())
                        print(f"killed beat {name} (the holder) at {kills[-1]:%H:%M:%S}")
                        beats[name] = start_beat(environment, name)
                next_kill += KILL_EVERY
        finally:
            for beat in beats.values():
                stop_process(beat)
        time.sleep(1)  # the last sends are written
        with app.app_context():
            sends = {
                name: sorted(db.session.scalars(
                    select(TaskRun.seen_at).where(TaskRun.periodic_entry == name)))
                for name in names
            }  # fmt: skip

    gaps = {name: [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
            for name, times in sends.items()}  # fmt: skip
    duplicates = sum(gap < 1.0 for entry_gaps in gaps.values() for gap in entry_gaps)
    takeovers = []
    for killed_at in kills:
        after = [t for times in sends.values() for t in times if t > killed_at]
        before = [t for times in sends.values() for t in times if t <= killed_at]
        if after and before:  # from the dead beat's last send to the standby's first
            takeovers.append((min(after) - max(before)).total_seconds())
    total = sum(len(times) for times in sends.values())
    expected = int(MINUTES * 60 / EVERY) * ENTRIES
    summary = {
        "minutes": MINUTES,
        "entries": ENTRIES,
        "sends": total,
        "expected_without_kills": expected,
        "duplicates": duplicates,
        "kills": len(kills),
        "takeover_seconds": takeovers,
        "goals": {
            "no_duplicates": duplicates == 0,
            "takeover_within_30_s": all(t <= 30 for t in takeovers),
        },
    }
    slowest = max(takeovers, default=0)
    listed = ", ".join(f"{t:.1f} s" for t in takeovers)
    markdown = f"""# Two beats, one sender

`.venv/bin/python -m bench.bench_beat` (part of `make bench`; `BENCH_BEAT_MINUTES`
shortens it): two `celery beat` processes on the product's database schedule for
{MINUTES:g} minutes, {ENTRIES} entries due every {EVERY:g} s; every {KILL_EVERY:g} s
the beat holding the lease is SIGKILLed and started again (it comes back as the
standby). Sends are counted from task history.

| | |
| --- | --- |
| sends | {total:,} (at most {expected:,} without the kills' gaps) |
| duplicates (two sends of an entry < 1 s apart) | **{duplicates}** (goal 0) |
| holder killed | {len(kills)} times |
| last send before a kill → first after | {listed}: slowest **{slowest:.1f} s** (goal ≤ 30 s) |"""
    print(write_result("beat", markdown, summary))
    return summary


if __name__ == "__main__":
    main()
