"""The sale admin's API and pages, and what the shopper's polls cost the database."""

import time

import pytest
from sqlalchemy import event

from blueprints.seckill import failover
from exts import db
from tests.helpers import wait_for
from tests.seckill_helpers import (
    as_user,
    buy,
    make_buyers,
    open_sale,
)

pytestmark = pytest.mark.integration


def test_sales_for_administrators(app, client, login_as):
    login_as("admin@example.com")
    now = app.config["TIMEZONE"]
    body = {"title": "Night sale", "product": "Lamp", "price_cents": 1999, "total_stock": 10,
            "starts_at": "2030-01-01T20:00:00", "ends_at": "2030-01-01T21:00:00"}  # fmt: skip
    created = client.post("/api/admin/sales", json=body)
    assert created.status_code == 201, created.json
    sale = created.json["sale"]
    assert sale["starts_at"] == "2030-01-01T12:00:00+00:00", f"read in {now}"
    assert sale["stock_left"] is None, "not today: not loaded"

    edited = client.patch(f"/api/admin/sales/{sale['id']}", json={"total_stock": 5})
    assert edited.json["sale"]["total_stock"] == 5, "before opening, stock may go down"
    bad = [
        ({**body, "total_stock": 0}, "invalid_field"),
        ({**body, "price_cents": "10"}, "invalid_field"),
        ({**body, "starts_at": "tomorrow"}, "invalid_field"),
        ({**body, "ends_at": "2030-01-01T19:00:00"}, "invalid_window"),
        ({**body, "colour": "red"}, "unknown_field"),
        ({k: v for k, v in body.items() if k != "title"}, "missing_field"),
    ]
    for payload, code in bad:
        response = client.post("/api/admin/sales", json=payload)
        assert (response.status_code, response.json["error"]["code"]) == (400, code)

    running = open_sale(app, 4)
    lowered = client.patch(f"/api/admin/sales/{running}", json={"total_stock": 3})
    assert lowered.json["error"]["code"] == "stock_lowered"
    raised = client.patch(f"/api/admin/sales/{running}", json={"total_stock": 6})
    assert raised.json["sale"]["stock_left"] == 6
    closed = client.post(f"/api/admin/sales/{running}/close", json={})
    assert closed.json["sale"]["status"] == "closed"
    listed = client.get("/api/admin/sales").json["sales"]
    assert {s["id"] for s in listed} == {sale["id"], running}
    assert client.get(f"/api/admin/sales/{running}/orders").json["orders"] == []
    assert client.get("/admin/sales").status_code == 200


def test_sales_admin_is_for_admins_only(app, client, login_as):
    assert client.get("/api/admin/sales").status_code == 401
    login_as("shopper@example.com")
    assert client.get("/api/admin/sales").status_code == 403
    assert client.post("/api/admin/sales", json={}).status_code == 403
    assert client.get("/admin/sales").status_code == 403


def test_sale_pages(app, client):
    activity_id = open_sale(app, 2)
    page = client.get(f"/seckill/{activity_id}")
    assert page.status_code == 200 and b"Test sale" in page.data
    assert client.get("/seckill/999999").status_code == 404
    listed = client.get("/api/seckill/activities").json
    assert [a["id"] for a in listed["activities"]] == [activity_id]
    assert listed["activities"][0]["state"] == "open" and listed["server_time"]
    assert b"Test sale" in client.get("/").data


def test_polled_sale_reads_cost_one_database_read_a_second(app, client):
    activity_id = open_sale(app, 5)
    with app.app_context():
        failover.rebuild()  # as the first buyer or page on a new Redis does: once
    statements = []

    def count(conn, cursor, statement, *args):
        if "FROM seckill_activities" in statement:
            statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    try:
        started = time.monotonic()
        for _ in range(50):
            body = client.get(f"/api/seckill/activities/{activity_id}").json
            client.get("/api/seckill/activities")
        assert time.monotonic() - started < 1 or pytest.skip("this machine is too slow to tell")
        assert len(statements) == 2, "one read for the sale, one for the list"
        assert body["activity"]["stock_left"] == 5

        buyer = make_buyers(app, 1)[0]
        assert buy(as_user(app, app.test_client(), buyer), activity_id).status_code == 202
        fresh = wait_for(
            lambda: (
                client.get(f"/api/seckill/activities/{activity_id}").json["activity"]["stock_left"]
                == 4
            ),
            timeout=3,
            message="the stock a second later",
        )
        assert fresh
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", count)
