"""`make run`: migrate, load demo data, then start every process with honcho.

Redis and the SMTP sink are started only when REDIS_URL and MAIL_SERVER are
unset; their free ports are handed to the other processes in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

from config import INSTANCE, ROOT
from devtools import free_port


def environment() -> tuple[dict[str, str], list[str]]:
    env = {**{k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}, **os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("FLASK_DEBUG", "1")  # the launcher is for development
    env.setdefault("ADMIN_EMAILS", "demo@example.com")  # so the admin pages can be tried
    env["PYTHONUNBUFFERED"] = "1"
    processes = ["web", "worker", "beat"]
    if not env.get("REDIS_URL"):
        port = free_port()
        env["EMBEDDED_REDIS_PORT"] = str(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        processes.append("redis")
    if env.get("FLOWER", "").lower() in {"1", "true", "yes", "on"}:
        processes.append("flower")  # http://127.0.0.1:5555, see the README for basic auth
    if not env.get("MAIL_SERVER"):
        env["MAIL_SERVER"] = "127.0.0.1"
        env["MAIL_PORT"] = str(free_port())
        processes.append("smtp")
    return env, processes


def main() -> int:
    env, processes = environment()
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT)
    subprocess.run([*flask, "seed"], env=env, check=True, cwd=ROOT)
    url_file = INSTANCE / "redis.url"
    if "redis" in processes:
        url_file.write_text(env["REDIS_URL"])
    print(f"Starting {', '.join(processes)}; open http://127.0.0.1:5000 (Ctrl-C stops all).")
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", "Procfile", *processes], env=env, cwd=ROOT
    )
    try:
        code = honcho.wait()
    except KeyboardInterrupt:
        return honcho.wait()  # honcho got the same Ctrl-C and stops its children
    finally:
        url_file.unlink(missing_ok=True)
    # One process stopping stops them all: a half-running stack (a web with no
    # worker) would accept work that nobody does.
    print(
        "\nmake run stopped: one process exited (its name and code are above, as"
        " 'NAME.1 stopped (rc=N)'), so honcho stopped the others. Fix its cause"
        " and run `make run` again; queued work and data are kept.",
        file=sys.stderr,
    )
    return code or 1


if __name__ == "__main__":
    sys.exit(main())
