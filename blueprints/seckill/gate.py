"""The gate: who may take a unit, decided in one Lua call (gate.lua) that
touches neither the database nor the broker; only the first call on a new
Redis server rebuilds the sales from the database first (failover.py)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from flask import current_app

from blueprints.auth.keys import sessions_key
from blueprints.core.local_copies import local_copies
from blueprints.core.lua import run_then
from blueprints.core.replication import Replicas
from blueprints.seckill import failover
from blueprints.seckill.keys import DRAIN_KICKED, FENCE, STREAM, buyers_key, result_key, sale_key
from blueprints.seckill.stock import lua, remember_sold_out
from exts import redis_client


@dataclass
class Verdict:
    # ok, not_loaded, logged_out, closed, not_started, duplicate, sold_out, busy, paused
    outcome: str
    seckill_id: str | None = None
    starts_at: float | None = None
    left: int | None = None
    kick: bool = False  # the caller must ask for a drain task (tasks.ask_for_drain)
    # On a replica too (or no replica is configured): a failover cannot erase it.
    confirmed: bool = True


def reserve(activity_id: int, user_id: int, session_id: str | None = None) -> Verdict:
    """Run the gate for ``user_id``; with ``session_id``, only while that login
    session is live (see blueprints/auth/sessions.py). Paused sales are rebuilt
    here first, or, while another process rebuilds them, after waiting for it."""
    verdict = _reserve(activity_id, user_id, session_id)
    if verdict.outcome == "paused" and (reopened := failover.rebuild()):
        verdict = _reserve(activity_id, user_id, session_id)
        verdict.kick = verdict.kick or reopened.drain
    return verdict


def _reserve(activity_id: int, user_id: int, session_id: str | None) -> Verdict:
    config = current_app.config
    epoch = local_copies(redis_client.current).epoch
    seckill_id = str(uuid.uuid4())
    keys = [
        sale_key(activity_id),
        buyers_key(activity_id),
        STREAM,
        result_key(seckill_id),
        DRAIN_KICKED,
        sessions_key(user_id),
        FENCE,
    ]
    args = [
        user_id,
        seckill_id,
        time.time(),
        config["SECKILL_RESULT_TTL"],
        activity_id,
        config["SECKILL_MAX_PENDING"],
        session_id or "",
    ]
    # WAIT in the same round trip as the script, on the same connection.
    ((outcome, *rest), *acks), replicated = run_then(
        redis_client.current, lua("gate"), keys, args, then=Replicas.of_app().wait
    )
    if outcome == "ok":
        left = int(rest[0])
        if left == 0:
            remember_sold_out(activity_id, epoch)
        return Verdict("ok", seckill_id=seckill_id, left=left, kick=rest[1] == 1,
                       confirmed=replicated(acks))  # fmt: skip
    if outcome == "sold_out":
        remember_sold_out(activity_id, epoch)
    if outcome == "duplicate":
        return Verdict(outcome, seckill_id=rest[0])
    if outcome == "not_started":
        return Verdict(outcome, starts_at=float(rest[0]))
    return Verdict(outcome)
