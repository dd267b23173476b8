"""What reading and answering through schemas costs the two hot requests.

One run, one Redis, one database, one worker; two gunicorns (5 workers
each) alternated over ROUNDS rounds:

- baseline: the product before issue 22 (commit BASELINE, checked out into
  a git worktree), whose views read their bodies by hand;
- schemas: today's product, where flask-smorest reads each body with its
  marshmallow schema and serializes each answer with another.

Measured with wrk (50 connections): POST /api/codes (each request a new
address) and POST /api/seckill/<id> (each buyer once, on a fresh sale per
run that never sells out). Goal (issue 22): schemas within 5 % of the
baseline for both.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from contextlib import ExitStack
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench.harness import ROOT, _wait_until_up, stack, stop_process, write_result, wrk
from bench.sales import bench_app, logged_in_users, new_sale, settled_orders
from blueprints.auth.keys import OUTBOX
from devtools import free_port
from exts import redis_client

BASELINE = "f6dd8bb"  # the last commit before issue 22's work
ROUNDS = 8  # rounds of this machine vary by a tenth: the median of eight holds still
SECONDS = 5
CONNECTIONS = 50
STOCK = 10_000_000  # never sold out
VARIANTS = ("baseline", "schemas")


def main() -> dict:
    env = {"CODE_IP_LIMIT": "100000000/minute", "CODE_CHALLENGE_CLIENT": "100000000",
           "TASK_HISTORY_ENABLED": "0", "SECKILL_MAX_PENDING": str(10**9),
           "LOG_LEVEL": "warning"}  # fmt: skip
    with ExitStack() as cleanup, tempfile.TemporaryDirectory() as tmp:
        base, environment, _sink = cleanup.enter_context(stack(env))
        app = bench_app(environment)
        cookies = Path(tmp) / "cookies.txt"
        logged_in_users(app, cookies)
        tree = _worktree(Path(tmp) / "baseline", cleanup)
        deps = _missing_dependencies(tree, Path(tmp) / "baseline-deps")
        bases = {"baseline": _web(environment, tree, deps, cleanup), "schemas": base}
        for url in bases.values():  # warm up: imports, connections, the gate's script
            wrk(url, "post_code.lua", 2, args=["warmup" + uuid.uuid4().hex[:6]])
        codes: dict[str, list[float]] = {name: [] for name in VARIANTS}
        gate: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for round_number in range(ROUNDS):
            # Each goes first in turn, and each run starts once the worker is
            # idle again: the orders and mails a run queues are not the next one's load.
            for name in VARIANTS[:: 1 if round_number % 2 else -1]:
                settle(app)
                run = wrk(bases[name], "post_code.lua", SECONDS, CONNECTIONS,
                          args=[uuid.uuid4().hex[:8]])  # fmt: skip
                codes[name].append(run["rps"] * (1 - run["non_2xx"] / max(1, run["requests"])))
                if run["non_2xx"]:
                    print(f"{name}: {run['non_2xx']} of {run['requests']} code requests refused")
                sale_id = new_sale(app, STOCK)
                settle(app)
                run = wrk(bases[name], "seckill.lua", SECONDS, CONNECTIONS,
                          args=["POST", f"/api/seckill/{sale_id}", str(cookies)])  # fmt: skip
                accepted = run["counts"].get("202", 0) + run["counts"].get("200", 0)
                gate[name].append(accepted / SECONDS)
            print({name: (round(codes[name][-1]), round(gate[name][-1])) for name in VARIANTS},
                  flush=True)  # fmt: skip
    return _report(codes, gate)


def settle(app) -> None:
    """Wait until the worker has written every order and sent every code."""
    settled_orders(app, 0, timeout=300)
    deadline = time.monotonic() + 300
    with app.app_context():
        while redis_client.xlen(OUTBOX) and time.monotonic() < deadline:
            time.sleep(0.2)


def _worktree(path: Path, cleanup: ExitStack) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(path), BASELINE],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    cleanup.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(path)],
                     cwd=ROOT, capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d",
                    "translations"], cwd=path, check=True, capture_output=True)  # fmt: skip
    return path


def _missing_dependencies(tree: Path, target: Path) -> Path:
    """Install into ``target`` what the baseline needs and this venv lacks
    (the libraries issue 22 dropped); the rest it shares with the product."""
    wanted = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = []
    for requirement in wanted:
        try:
            metadata.version(Requirement(requirement).name)
        except metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(target),
                        *missing], check=True)  # fmt: skip
    return target


def _web(env: dict, tree: Path, deps: Path, cleanup: ExitStack) -> str:
    """gunicorn on ``tree``'s code, as many workers as the stack's."""
    port = free_port()
    workers = str(2 * (os.cpu_count() or 1) + 1)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", workers, "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"],
        env={**env, "PYTHONPATH": f"{tree}:{deps}"}, cwd=tree,
    )  # fmt: skip
    cleanup.callback(stop_process, web)
    _wait_until_up(f"http://127.0.0.1:{port}/healthz", timeout=60)
    return f"http://127.0.0.1:{port}"


def _report(codes: dict, gate: dict) -> dict:
    def ratio(figures: dict) -> float:
        pairs = zip(figures["schemas"], figures["baseline"], strict=True)
        return statistics.median(new / old for new, old in pairs)

    rows = [
        f"| {what} | {round(statistics.median(figures['baseline']))} "
        f"| {round(statistics.median(figures['schemas']))} | {ratio(figures):.3f} |"
        for what, figures in (("POST /api/codes", codes), ("POST /api/seckill/<id>", gate))
    ]
    markdown = "\n".join([
        "# Schemas on the hot path (issue 22)", "",
        f"Answers per second (202, and 200 for the gate), median of {ROUNDS} alternated rounds"
        f" of {SECONDS} s, wrk with {CONNECTIONS} connections; baseline: the product at"
        f" {BASELINE}, on the same Redis, database and worker.", "",
        "| request | baseline | schemas | schemas / baseline (median of rounds) |",
        "| --- | --- | --- | --- |", *rows, "",
        "Goal: each at least 0.95x the baseline.",
    ])  # fmt: skip
    data = {"codes": codes, "gate": gate, "codes_ratio": ratio(codes), "gate_ratio": ratio(gate)}
    print(write_result("api_schemas", markdown, data).read_text())
    return data


if __name__ == "__main__":
    main()
