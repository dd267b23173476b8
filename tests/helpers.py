"""Small helpers that read like what a user or client does."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from exts import db
from models import Banner


def issue_code(app, address: str) -> tuple[str, list[str]]:
    """A code issued as a code request issues it: (the code, its send task's
    arguments), for a test that publishes the send itself, where it likes."""
    from blueprints.auth.keys import OUTBOX
    from blueprints.auth.service import code_store, seal
    from exts import redis_client

    with app.app_context():
        issued = code_store().issue("email", address, "login", requester=address)
        redis_client.delete(OUTBOX)
    return issued.code, [address, seal(app.config["SECRET_KEY"], issued.code), "login"]


def request_code(client, target: str, channel: str = "email"):
    body = {"channel": channel, "target": target, "purpose": "login"}
    return client.post("/api/codes", json=body)


def follow_task(client, task_id: str, timeout: float = 40) -> tuple[list[str], dict]:
    """Poll the task API until the task is done: the states seen, and the last answer."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/tasks/{task_id}").json
        if not seen or seen[-1] != body["state"]:
            seen.append(body["state"])
        if body["ready"]:
            return seen, body
        time.sleep(0.05)
    raise AssertionError(f"task not done in {timeout} s: {seen}")


def add_banners(app, *titles: str, **fields) -> list[int]:
    """Banners written straight to the database, as another process would: no invalidation."""
    with app.app_context():
        banners = [
            Banner(title=title, image_url=f"/static/{n}.svg", position=n, **fields)
            for n, title in enumerate(titles)
        ]
        db.session.add_all(banners)
        db.session.commit()
        return [banner.id for banner in banners]


def wait_for(check, timeout: float = 30, message: str = "condition"):
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{message}: not met in {timeout} s")


def builtin_entry(app, name: str) -> dict:
    """One of the product's own schedule entries, as beat seeds it."""
    from blueprints.schedules.entries import builtin_entries

    return next(entry for entry in builtin_entries(app.config) if entry["name"] == name)


def http_call(base: str, method: str, path: str, body=None, cookie: str | None = None):
    """(status, headers, parsed body or text, seconds taken)."""
    headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, answer_headers, raw = error.code, error.headers, error.read()
    elapsed = time.monotonic() - started
    is_json = answer_headers.get("Content-Type", "").startswith("application/json")
    return status, answer_headers, json.loads(raw) if is_json and raw else raw, elapsed
