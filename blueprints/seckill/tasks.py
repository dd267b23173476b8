"""The flash sale's tasks: order drains, payment timeouts, preloading, reconciliation."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from flask import current_app

from blueprints.seckill import service
from exts import redis

log = logging.getLogger(__name__)


@shared_task(name="seckill.drain_orders", acks_late=True, reject_on_worker_lost=True)
def drain_orders() -> int:
    """Write the orders of waiting reservations. Idempotent: each reservation
    becomes one order however often it is read (a unique reservation id)."""
    handled = _drain()
    if handled >= current_app.config["SECKILL_DRAIN_LIMIT"]:
        drain_orders.delay()  # more are waiting: let other tasks in between
    return handled


def _drain() -> int:
    config = current_app.config
    return service.drain(
        limit=config["SECKILL_DRAIN_LIMIT"],
        batch=config["SECKILL_DRAIN_BATCH"],
        stale_after_ms=config["SECKILL_CLAIM_AFTER_MS"],
    )


@shared_task(name="seckill.cancel_unpaid", acks_late=True, reject_on_worker_lost=True)
def cancel_unpaid(order_ids: list[int], due_at: float | None = None) -> int:
    """Cancel the orders still unpaid at ``due_at`` (a Unix time) and return
    their units. Idempotent (see the service)."""
    if due_at is not None and time.time() < due_at:
        schedule_cancel(order_ids, due_at)  # woken early: sleep on
        return 0
    return service.cancel_unpaid(order_ids)


def schedule_cancel(order_ids: list[int], due_at: float) -> None:
    """Queue ``cancel_unpaid`` for ``due_at`` in hops shorter than half the
    broker's visibility timeout: a Redis broker hands out again a message a
    worker holds longer than that, so one long countdown would run many times."""
    visibility = current_app.config["CELERY"]["broker_transport_options"]["visibility_timeout"]
    countdown = max(0.0, min(due_at - time.time(), visibility / 2))
    cancel_unpaid.apply_async((order_ids, due_at), countdown=countdown)


@shared_task(name="seckill.preload_today")
def preload_today() -> list[int]:
    """Load today's sales into Redis. Idempotent: stock already on sale is kept."""
    return service.preload_today()


@shared_task(name="seckill.reconcile")
def reconcile() -> dict:
    """The safety net, every minute: load today's sales, write reservations no
    drain picked up (a lost kick, a killed worker), cancel unpaid orders whose
    delayed task was lost, and report stock that disagrees with the orders."""
    loaded = service.preload_today()
    written = _drain()
    cancelled = service.cancel_unpaid(service.overdue_unpaid())
    # Counted twice, a second apart: a batch in flight shifts the sum for a moment.
    first = service.stock_drift(loaded)
    time.sleep(1)
    drift = {i: d for i, d in service.stock_drift(loaded).items() if d and d == first.get(i)}
    for activity_id, units in drift.items():
        log.error("sale %s: Redis stock is off by %+d units from the orders", activity_id, units)
        redis.set(service.drift_key(activity_id), units, ex=3600)
    return {"loaded": loaded, "written": written, "cancelled": cancelled, "drift": drift}
