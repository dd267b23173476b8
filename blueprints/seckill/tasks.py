"""The flash sale's tasks: order drains, payment timeouts, preloading, reconciliation."""

from __future__ import annotations

import logging
import time

import sqlalchemy.exc
from celery import shared_task
from flask import current_app
from redis import RedisError

from blueprints.core.queueing import queue_or_log
from blueprints.jobs.progress import Progress
from blueprints.ops import metrics
from blueprints.seckill import drift, editing, export, orders, payment, stock
from blueprints.seckill.keys import DRAIN_KICKED, drift_key
from exts import redis_client

log = logging.getLogger(__name__)


@shared_task(
    name="seckill.drain_orders", acks_late=True, reject_on_worker_lost=True,
    # The database or Redis restarting: try again soon rather than wait for
    # the minute's reconciliation (what the failed try held is claimed again).
    autoretry_for=(sqlalchemy.exc.OperationalError, RedisError), max_retries=20,
    retry_backoff=1, retry_backoff_max=10,
)  # fmt: skip
def drain_orders() -> int:
    """Write the orders of waiting reservations. Idempotent: each reservation
    becomes one order however often it is read (a unique reservation id)."""
    handled = _drain()
    if handled >= current_app.config["SECKILL_DRAIN_LIMIT"]:
        drain_orders.delay()  # more are waiting: let other tasks in between
    return handled


def ask_for_drain() -> None:
    """Queue a drain for the reservation the gate just took (when it says so)."""
    if not queue_or_log(drain_orders):  # the reservation waits for the reconciliation
        redis_client.delete(DRAIN_KICKED)  # so the next reservation asks again


def _drain() -> int:
    config = current_app.config
    return orders.drain(
        limit=config["SECKILL_DRAIN_LIMIT"],
        batch=config["SECKILL_DRAIN_BATCH"],
        stale_after_ms=config["SECKILL_CLAIM_AFTER_MS"],
        on_written=_after_written,
    )


def _after_written(order_ids: list[int]) -> None:
    # One delayed task per batch cancels the orders still unpaid by then.
    if order_ids:
        metrics.count("shop_orders_written_total", len(order_ids))
        schedule_cancel(order_ids, time.time() + current_app.config["SECKILL_PAY_TIMEOUT"])


@shared_task(name="seckill.cancel_unpaid", acks_late=True, reject_on_worker_lost=True)
def cancel_unpaid(order_ids: list[int], due_at: float | None = None) -> int:
    """Cancel the orders still unpaid at ``due_at`` (a Unix time) and return
    their units. Idempotent (see the service)."""
    if due_at is not None and time.time() < due_at:
        schedule_cancel(order_ids, due_at)  # woken early: sleep on
        return 0
    return payment.cancel_unpaid(order_ids)


def schedule_cancel(order_ids: list[int], due_at: float) -> None:
    """Queue ``cancel_unpaid`` for ``due_at`` in hops shorter than half the
    broker's visibility timeout: a Redis broker hands out again a message a
    worker holds longer than that, so one long countdown would run many times."""
    visibility = current_app.config["CELERY"]["broker_transport_options"]["visibility_timeout"]
    countdown = max(0.0, min(due_at - time.time(), visibility / 2))
    cancel_unpaid.apply_async((order_ids, due_at), countdown=countdown)


@shared_task(
    name="seckill.export_orders", bind=True, ignore_result=False, acks_late=True,
    reject_on_worker_lost=True,
)  # fmt: skip
def export_orders(self, sale_id: int) -> dict:
    """A sale's orders as CSV, reporting progress; where to download it.
    Run again (a redelivery), it writes a new file; the old one expires."""
    progress = Progress(self, export.count_orders(sale_id), "Writing orders")
    result = export.write_csv(sale_id, on_rows=progress.update)
    progress.update(result["rows"], "Done")
    return result


@shared_task(name="seckill.preload_today")
def preload_today() -> list[int]:
    """Load today's sales into Redis. Idempotent: stock already on sale is kept."""
    return stock.preload_today()


@shared_task(name="seckill.reconcile")
def reconcile() -> dict:
    """The safety net, every minute: load today's sales, write reservations no
    drain picked up (a lost kick, a killed worker), cancel unpaid orders whose
    delayed task was lost, bring Redis's totals to the database's, take off
    sale units the database does not back, and report any other drift."""
    loaded = stock.preload_today()
    written = _drain()
    cancelled = payment.cancel_unpaid(payment.overdue_unpaid())
    totals = {}
    for activity_id in drift.totals_off(loaded):
        try:
            moved = editing.sync_total(activity_id)
        except stock.BelowTaken as below:
            log.error("sale %s: %d units taken, more than its total", activity_id, below.taken)
            continue
        if moved:
            totals[activity_id] = moved
            log.error("sale %s: Redis's total was off by %+d: repaired", activity_id, -moved)
    # Counted twice, a second apart: a batch in flight lowers the sum for a moment.
    first = drift.stock_drift(loaded)
    time.sleep(1)
    off = {i: d for i, d in drift.stock_drift(loaded).items() if d and d == first.get(i)}
    taken_back = {}
    for activity_id, units in off.items():
        log.error("sale %s: Redis stock is off by %+d units from the orders", activity_id, units)
        redis_client.set(drift_key(activity_id), units, ex=3600)
        if units > 0:  # Redis would sell units the database does not back
            taken_back[activity_id] = stock.take_back(activity_id, units)
    return {
        "loaded": loaded, "written": written, "cancelled": cancelled, "totals": totals,
        "drift": off, "taken_back": taken_back,
    }  # fmt: skip
