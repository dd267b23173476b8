"""`make run`: migrate, load demo data, then start every process with honcho.

Redis and the SMTP sink are started only when REDIS_URL and MAIL_SERVER are
unset; their free ports are handed to the other processes in the environment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable
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
    # Quiet by default: one line per mail and SMS, the requests that change
    # something, warnings and errors. LOG_LEVEL=info shows every request,
    # task and beat tick too.
    env.setdefault("LOG_LEVEL", "warning")
    env.setdefault("PORT", "5000")
    quiet = env["LOG_LEVEL"].lower() not in {"debug", "info"}
    env.setdefault("CELERY_FLAGS", "--quiet" if quiet else "")  # no start-up banners
    processes = ["web", "worker", "beat"]
    if not env.get("REDIS_URL"):
        port = free_port()
        env["EMBEDDED_REDIS_PORT"] = str(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        processes.append("redis")
    if env.get("FLOWER", "").lower() in {"1", "true", "yes", "on"}:
        processes.append("flower")
        # Locked as in production: a password of its own unless one is set.
        env.setdefault("FLOWER_BASIC_AUTH", flower_login())
    if not env.get("MAIL_SERVER"):
        env["MAIL_SERVER"] = "127.0.0.1"
        env["MAIL_PORT"] = str(free_port())
        processes.append("smtp")
    return env, processes


def main() -> int:
    env, processes = environment()
    INSTANCE.mkdir(exist_ok=True)  # the worker's state file and the embedded Redis live there
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, cwd=ROOT)
    subprocess.run([*flask, "seed"], env=env, check=True, cwd=ROOT)
    url_file = INSTANCE / "redis.url"
    if "redis" in processes:
        url_file.write_text(env["REDIS_URL"])
    print(f"Starting {', '.join(processes)}; open http://127.0.0.1:{env['PORT']}"
          " (Ctrl-C stops all).", flush=True)  # fmt: skip
    if "flower" in processes:
        user, password = env["FLOWER_BASIC_AUTH"].split(":", 1)
        port = env.get("FLOWER_PORT", "5555")
        print(f"Flower: http://127.0.0.1:{port} (user {user!r}, password {password!r}).")
    interrupted = []
    signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))  # honcho gets it too
    give_back = own_the_terminal()
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", "Procfile", *processes], env=env, cwd=ROOT
    )
    try:
        code = honcho.wait()
    finally:
        give_back()
        url_file.unlink(missing_ok=True)
    if interrupted:
        print(
            "\nmake run stopped: every process shut down (Ctrl-C). Data and queued work are kept."
        )
        return 0
    # One process stopping stops them all: a half-running stack (a web with no
    # worker) would accept work that nobody does.
    print(
        "\nmake run stopped: one process exited (its name and code are above, as"
        " 'NAME.1 stopped (rc=N)'), so honcho stopped the others. Fix its cause"
        " and run `make run` again; queued work and data are kept.",
        file=sys.stderr,
    )
    return code or 1


def flower_login() -> str:
    """'operator:<password>', made once and kept in instance/flower.auth."""
    path = INSTANCE / "flower.auth"
    if not path.exists():
        INSTANCE.mkdir(exist_ok=True)
        path.write_text(f"operator:{secrets.token_urlsafe(12)}")
        path.chmod(0o600)
    return path.read_text().strip()


def own_the_terminal() -> Callable[[], None]:
    """Make this launcher's process group the terminal's foreground, so a
    Ctrl-C reaches it and its processes but not make, which would report a
    clean stop as 'Error 130'. Returns what gives the terminal back."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return lambda: None  # no terminal (a pipe, CI): nothing to take
    previous = os.tcgetpgrp(terminal)

    def foreground(group: int) -> None:
        # A background group may not change the foreground without SIGTTOU.
        handler = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(terminal, group)
        finally:
            signal.signal(signal.SIGTTOU, handler)

    try:
        os.setpgid(0, 0)
        foreground(os.getpgrp())
    except OSError:  # a session leader, or the terminal is someone else's
        os.close(terminal)
        return lambda: None

    def give_back() -> None:
        with contextlib.suppress(OSError):
            foreground(previous)
        os.close(terminal)

    return give_back


if __name__ == "__main__":
    sys.exit(main())
