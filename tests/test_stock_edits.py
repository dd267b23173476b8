"""A sale's stock edited at the edges: admins (or one double-click) sending
the same edit at once, then a rush; and the reconciliation finding Redis off
from the database. The promise: exactly the final total is sold, every time."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from blueprints.seckill import keys
from models import SeckillActivity
from tests.helpers import wait_for
from tests.seckill_helpers import http, make_buyers, open_sale, order_count, session_cookie

pytestmark = pytest.mark.integration


def edit_at_once(base: str, cookie: str, activity_id: int, total: int, times: int) -> list:
    """``times`` identical stock edits, released together; their answers."""
    start = threading.Barrier(times)

    def edit(_) -> tuple[int, dict]:
        start.wait()
        path = f"/api/admin/sales/{activity_id}"
        return http(base, "PATCH", path, cookie, {"total_stock": total})

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(edit, range(times)))


def rush(app, base: str, activity_id: int, buyers: int) -> list[int]:
    """``buyers`` new shoppers press Buy at once; the statuses they get."""
    cookies = [session_cookie(app, u) for u in make_buyers(app, buyers, f"rush{activity_id}-")]

    def attempt(cookie: str) -> int:
        return http(base, "POST", f"/api/seckill/{activity_id}", cookie)[0]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(attempt, cookies))


def sold_exactly(app, base, app_redis, activity_id: int, total: int) -> None:
    """A rush of more buyers than units sells ``total``, and the orders say so."""
    statuses = rush(app, base, activity_id, total + 15)
    assert statuses.count(202) == total and statuses.count(410) == 15, sorted(statuses)
    assert app_redis.hmget(keys.sale_key(activity_id), "stock", "total") == ["0", str(total)]
    wait_for(lambda: order_count(app, activity_id) == total, message=f"{total} orders")


def wait_until_open(app, activity_id: int) -> None:
    with app.app_context():
        from exts import db
        from models.types import utcnow

        starts_at = db.session.get(SeckillActivity, activity_id).starts_at
    wait_for(lambda: utcnow() >= starts_at, message="the sale opened")


@pytest.mark.parametrize("starts_in", [-60, 3], ids=["open", "upcoming"])
def test_concurrent_raises_add_the_units_once(
    app, live_server, worker, admin_cookie, app_redis, starts_in
):
    activity_id = open_sale(app, 10, starts_in=starts_in)
    answers = edit_at_once(live_server, admin_cookie, activity_id, 20, times=5)
    assert [status for status, _ in answers] == [200] * 5, answers
    assert {body["sale"]["total_stock"] for _, body in answers} == {20}
    assert app_redis.hmget(keys.sale_key(activity_id), "stock", "total") == ["20", "20"]
    wait_until_open(app, activity_id)
    sold_exactly(app, live_server, app_redis, activity_id, 20)


def test_concurrent_lowerings_before_the_sale_opens_remove_the_units_once(
    app, live_server, worker, admin_cookie, app_redis
):
    activity_id = open_sale(app, 10, starts_in=3)
    answers = edit_at_once(live_server, admin_cookie, activity_id, 5, times=2)
    assert [status for status, _ in answers] == [200, 200], answers
    assert app_redis.hmget(keys.sale_key(activity_id), "stock", "total") == ["5", "5"]
    wait_until_open(app, activity_id)
    sold_exactly(app, live_server, app_redis, activity_id, 5)


def test_concurrent_lowerings_of_an_open_sale_are_refused(
    app, live_server, worker, admin_cookie, app_redis
):
    activity_id = open_sale(app, 10)
    answers = edit_at_once(live_server, admin_cookie, activity_id, 5, times=2)
    assert [body["error"]["code"] for _, body in answers] == ["stock_lowered"] * 2
    sold_exactly(app, live_server, app_redis, activity_id, 10)


def test_a_total_below_the_units_taken_is_refused_and_changes_nothing(
    app, live_server, worker, admin, app_redis
):
    # The sale opens while the lowering is on its way: the database still says
    # "upcoming", but Redis has sold units. Redis refuses, the database rolls back.
    activity_id = open_sale(app, 10, starts_in=3)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", -4)  # 4 taken
    answer = admin.patch(
        f"/api/admin/sales/{activity_id}", json={"total_stock": 3, "price_cents": 1}
    )
    assert answer.status_code == 409, answer.json
    assert answer.json["error"]["code"] == "below_taken"
    assert answer.json["error"]["field"] == "total_stock"
    sale = admin.get("/api/admin/sales").json["sales"][0]
    assert (sale["total_stock"], sale["price_cents"]) == (10, 990)
    assert app_redis.hmget(keys.sale_key(activity_id), "stock", "total", "price_cents") == [
        "6", "10", "990"]  # fmt: skip


def test_reconciliation_brings_a_total_redis_missed_to_the_database(
    app, live_server, worker, celery_app, app_redis
):
    activity_id = open_sale(app, 10)
    # What the old edit left: Redis's total and stock moved together, twice.
    app_redis.hincrby(keys.sale_key(activity_id), "total", 10)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", 10)
    celery_app.send_task("seckill.reconcile")
    wait_for(
        lambda: app_redis.hmget(keys.sale_key(activity_id), "stock", "total") == ["10", "10"],
        message="Redis's total repaired",
    )
    sold_exactly(app, live_server, app_redis, activity_id, 10)


def test_reconciliation_takes_back_units_the_database_does_not_back(
    app, client, celery_app, worker, app_redis, login_as
):
    activity_id = open_sale(app, 5)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", 2)  # units out of nowhere
    celery_app.send_task("seckill.reconcile")
    wait_for(lambda: app_redis.get(keys.drift_key(activity_id)) == "2", message="reported")
    wait_for(lambda: app_redis.hget(keys.sale_key(activity_id), "stock") == "5", message="taken")
    login_as("admin@example.com")
    (sale,) = client.get("/api/admin/sales").json["sales"]
    assert sale["stock_drift"] == 2 and sale["stock_left"] == 5


def test_reconciliation_reports_units_missing_from_redis(app, celery_app, worker, app_redis):
    activity_id = open_sale(app, 5)
    app_redis.hincrby(keys.sale_key(activity_id), "stock", -2)  # lost units: reported only
    celery_app.send_task("seckill.reconcile")
    wait_for(lambda: app_redis.get(keys.drift_key(activity_id)) == "-2", message="reported")
    assert app_redis.hget(keys.sale_key(activity_id), "stock") == "3"
