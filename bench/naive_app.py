"""The product plus the naive flash-sale design, for bench_seckill's comparison:
every request queues a Celery task (`.delay()`), to a queue no worker reads."""

from celery import shared_task
from flask import jsonify

from app import create_app
from blueprints.api import ApiError
from blueprints.auth.access import session_user_id
from exts import csrf


@shared_task(name="bench.naive_order")
def naive_order(activity_id: int, user_id: int) -> None:
    """Never runs: the benchmark measures only the web side of the naive design."""


app = create_app()


@app.post("/bench/naive/<int:activity_id>")
@csrf.exempt  # JSON only, like the product's /api
def naive_buy(activity_id: int):
    user_id = session_user_id()
    if user_id is None:
        raise ApiError(401, "not_logged_in", "Log in to buy.")
    result = naive_order.apply_async((activity_id, user_id), queue="bench-naive")
    return jsonify(seckill_id=result.id), 202
