"""A sale's orders exported as CSV by a task that reports its progress."""

from __future__ import annotations

import csv
import io
import time

import pytest

from tests.seckill_helpers import sale_with_orders

pytestmark = pytest.mark.integration

ORDERS = 100_000


def follow(client, task_id: str, timeout: float = 120) -> tuple[list[dict], dict]:
    """Every answer of the task API until the task is done (polled quickly)."""
    answers: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/tasks/{task_id}").json
        answers.append(body)
        if body["ready"]:
            return answers, body
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} not done in {timeout} s: {answers[-1]}")


def test_an_admin_exports_100000_orders_with_progress(app, admin, app_redis, worker):
    sale_id = sale_with_orders(app, ORDERS)
    response = admin.post(f"/api/admin/sales/{sale_id}/export", json={})
    assert response.status_code == 202, response.json
    answers, done = follow(admin, response.json["task_id"])

    assert done["state"] == "SUCCESS", done
    progress = [a["progress"] for a in answers if a["state"] == "PROGRESS"]
    assert progress, [a["state"] for a in answers]
    assert all(p["total"] == ORDERS and 0 <= p["current"] <= ORDERS for p in progress)
    assert all(p["percent"] == round(100 * p["current"] / ORDERS, 1) for p in progress)
    assert [p["current"] for p in progress] == sorted(p["current"] for p in progress)
    assert progress[0]["description"]
    assert done["result"]["rows"] == ORDERS

    download = admin.get(done["result"]["download"])
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert f"sale-{sale_id}-orders.csv" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0][:5] == ["order_id", "reservation_id", "user_id", "buyer", "status"]
    assert len(rows) == ORDERS + 1
    assert rows[1][3:6] == ["export0@example.com", "paid", "19.99"]
    assert rows[-1][3] == "'+8613900000000"  # not a formula
    assert len({row[0] for row in rows[1:]}) == ORDERS

    # The link expires with the file.
    (key,) = app_redis.keys("exports:v1:*")
    assert 0 < app_redis.ttl(key) <= app.config["EXPORT_TTL"]
    app_redis.delete(key)
    assert admin.get(done["result"]["download"]).status_code == 404


def test_only_administrators_export(app, client, login_as, worker):
    sale_id = sale_with_orders(app, 3)
    assert client.post(f"/api/admin/sales/{sale_id}/export", json={}).status_code == 401
    login_as("shopper@example.com")
    assert client.post(f"/api/admin/sales/{sale_id}/export", json={}).status_code == 403
    assert client.get(f"/admin/sales/{sale_id}/exports/x.csv").status_code == 403


def test_exporting_a_missing_sale_is_404(admin):
    assert admin.post("/api/admin/sales/999999/export", json={}).status_code == 404
    assert admin.get("/admin/sales/1/exports/nothing.csv").status_code == 404
