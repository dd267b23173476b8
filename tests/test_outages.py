"""When Redis or the broker is down, requests get a clear 503, never a 500."""

import pytest
import redis
from kombu.exceptions import OperationalError

from blueprints.auth import tasks
from devtools import free_port
from tests.helpers import follow_task, request_code


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


def test_a_broker_outage_loses_no_send(client, celery_app, worker, mailbox, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.dispatch_code_sends, "apply_async", broker_down)
    response = request_code(client, "queue@example.com")
    assert response.status_code == 202, "the send waits in the outbox"
    monkeypatch.undo()

    # Beat's sweep, sent as beat sends it, finds the waiting send.
    sweep = celery_app.conf.beat_schedule["sweep-code-outbox"]
    celery_app.send_task(sweep["task"])
    states, task = follow_task(client, response.json["task_id"])
    assert task["state"] == "SUCCESS"
    mailbox.last_code_for("queue@example.com")
