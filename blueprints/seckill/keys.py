"""Every Redis key and stream of the flash sale, in one place."""

from __future__ import annotations

STREAM = "seckill:v1:reservations"  # reservations the gate took, for the order writers
GROUP = "order-writers"
DRAIN_KICKED = "seckill:v1:drain:kicked"  # a drain task has been asked for
FENCE = "seckill:v1:fence"  # the run id of the server whose sales were rebuilt (failover.py)
REBUILDING = "seckill:v1:rebuilding"  # one process rebuilds at a time


def sale_key(activity_id: int) -> str:
    return f"seckill:v1:sale:{activity_id}"


def buyers_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:buyers"


def returned_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:returned"


def result_key(seckill_id: str) -> str:
    return f"seckill:v1:result:{seckill_id}"


def drift_key(activity_id: int) -> str:
    return f"{sale_key(activity_id)}:drift"


def export_key(sale_id: int, token: str) -> str:
    """A sale's CSV export, for EXPORT_TTL seconds."""
    return f"exports:v1:{sale_id}:{token}"


def sold_out_flag(activity_id: int) -> str:
    """The name under which web processes remember a sold-out sale (core/local_copies.py)."""
    return f"seckill:v1:sold-out:{activity_id}"


def sale_snapshot_key(activity_id: int) -> str:
    """A sale as its pages poll it, a second old at most (Flask-Caching, catalogue.py)."""
    return f"seckill:v1:snapshot:{activity_id}"


def sales_snapshot_key(day_start: str) -> str:
    """The sales listed from a day on, a second old at most (Flask-Caching, catalogue.py)."""
    return f"seckill:v1:snapshot:from:{day_start}"
