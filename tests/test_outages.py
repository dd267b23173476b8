"""When Redis or the broker is down, requests get a clear 503, never a 500."""

import os
import subprocess
import sys

import pytest
import redis
from kombu.exceptions import OperationalError

from blueprints.auth import tasks
from blueprints.seckill import stock
from config import ROOT
from devtools import free_port
from tests.helpers import builtin_entry, follow_task, request_code

NEW_SALE = {
    "title": "Sale",
    "product": "A thing",
    "price_cents": 100,
    "total_stock": 10,
    "starts_at": "2030-01-01T10:00:00",
    "ends_at": "2030-01-01T11:00:00",
}


@pytest.fixture
def redis_down(app, monkeypatch):
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.5, decode_responses=True)
    monkeypatch.setitem(app.extensions, "redis", dead)
    monkeypatch.delitem(app.extensions, "code_store", raising=False)
    yield
    app.extensions.pop("code_store", None)  # rebuilt on the live Redis by the next test


def test_code_requests_and_logins_answer_503_while_redis_is_down(client, redis_down):
    for response in (
        request_code(client, "down@example.com"),
        client.post("/api/login", json={"target": "down@example.com", "code": "123456"}),
    ):
        assert response.status_code == 503
        assert response.json["error"]["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) > 0


def test_pages_still_render_while_redis_is_down(client, redis_down):
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 200


def test_a_broker_outage_loses_no_send(app, client, celery_app, worker, mailbox, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.dispatch_code_sends, "apply_async", broker_down)
    response = request_code(client, "queue@example.com")
    assert response.status_code == 202, "the send waits in the outbox"
    monkeypatch.undo()

    # Beat's sweep, sent as beat sends it, finds the waiting send.
    sweep = builtin_entry(app, "sweep-code-outbox")
    celery_app.send_task(sweep["task"])
    states, task = follow_task(client, response.json["task_id"])
    assert task["state"] == "SUCCESS"
    mailbox.last_code_for("queue@example.com")


def test_a_sale_edit_saved_while_redis_fails_says_so(app, client, login_as, monkeypatch):
    login_as("admin@example.com")
    sale = client.post("/api/admin/sales", json=NEW_SALE).json["sale"]

    def redis_gone(*args, **kwargs):  # Redis dies between the commit and the live update
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(stock, "set_total", redis_gone)
    response = client.patch(f"/api/admin/sales/{sale['id']}", json={"total_stock": 20})
    assert response.status_code == 200
    assert response.json["warning"].startswith("Saved.")
    assert response.json["sale"]["total_stock"] == 20


def test_a_database_that_refuses_connections_gets_a_503_not_a_500():
    # A fresh interpreter: an app whose database is down from the start.
    check = """
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/shop",
                  "HTTPS": False})
client = app.test_client()
page = client.get("/")
assert page.status_code == 503 and page.headers["Retry-After"], page.status_code
api = client.get("/api/seckill/activities")
assert api.status_code == 503 and api.json["error"]["code"] == "service_unavailable", api.json
"""
    env = {k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"}
    subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=ROOT)
