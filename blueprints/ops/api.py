"""The operator's JSON API: task history, retry and revoke, queues, workers, audit."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from blueprints.auth.access import admin_api
from blueprints.core.api import Refused
from blueprints.core.openapi import Blueprint
from blueprints.core.queueing import registered_tasks
from blueprints.ops import actions, history, live
from blueprints.ops.schemas import (
    AuditPageSchema,
    AuditQuerySchema,
    QueuesSchema,
    RerunSchema,
    RevokedSchema,
    RevokeSchema,
    TaskDetailSchema,
    TaskFiltersSchema,
    TaskRunPageSchema,
    WorkersSchema,
)
from exts import db, redis_client
from models import AuditEntry, TaskRun
from models.ops import TASK_ID_LENGTH

blp = Blueprint(
    "ops_api",
    __name__,
    url_prefix="/api/admin",
    description="Tasks, queues, workers and the audit log",
)


@blp.get("/tasks")
@admin_api
@blp.arguments(TaskFiltersSchema, location="query")
@blp.response(200, TaskRunPageSchema, description="One page")
def list_tasks(query: dict[str, Any]):
    """Task history, newest first, a page at a time."""
    after = None
    if query.get("cursor"):
        try:
            after = history.decode_cursor(query["cursor"])
        except ValueError:
            raise Refused(
                "invalid_field", "'cursor' is not one this list gave.", "cursor"
            ) from None
    filters = history.Filters(
        state=query.get("state"),
        name=query.get("name"),
        since=query.get("since"),
        until=query.get("until"),
        task_id=query.get("q"),
    )
    limit = query["limit"]
    runs = history.list_runs(filters, limit + 1, after)
    more = len(runs) > limit
    runs = runs[:limit]
    next_cursor = history.encode_cursor(runs[-1]) if more else None
    return {"tasks": runs, "next_cursor": next_cursor, "names": registered_tasks()}


def _run(task_id: str) -> TaskRun:
    run = db.session.get(TaskRun, task_id) if len(task_id) <= TASK_ID_LENGTH else None
    if run is None:
        raise Refused("not_found", "No such task in the history.")
    return run


@blp.get("/tasks/<task_id>")
@admin_api
@blp.response(200, TaskDetailSchema, description="The run")
def task_detail(task_id: str):
    """One run: its timeline, redacted arguments, result or traceback, and the
    runs it started, its group, and its reruns."""
    run = _run(task_id)
    for kind, runs in history.related(run).items():
        setattr(run, kind, runs)  # for the answer only: not columns
    return {"task": run}


@blp.post("/tasks/<task_id>/retry")
@admin_api
@blp.takes_nothing
@blp.response(202, RerunSchema, description="Queued")
@blp.alt_response(
    409, response="CONFLICT", description="Not failed, unknown here, or its arguments were redacted"
)
def retry_task(task_id: str):
    """Run a failed or revoked task again with its arguments: a new run, linked to this one."""
    new_id = actions.rerun(current_app.extensions["celery"], _run(task_id))
    return {"task_id": new_id, "retry_of": task_id}


@blp.post("/tasks/<task_id>/revoke")
@admin_api
@blp.arguments(RevokeSchema)
@blp.response(202, RevokedSchema, description="Asked of the workers")
@blp.alt_response(
    409, response="CONFLICT", description="Finished already, or running and not to be terminated"
)
def revoke_task(body: dict[str, Any], task_id: str):
    """Revoke a waiting task, or terminate a running one: its prefork child is
    killed (a solo worker cannot stop the task it runs: `stopped` is false and
    `warning` says so)."""
    answer = actions.revoke(current_app.extensions["celery"], _run(task_id), body["terminate"])
    return {"task_id": task_id, **answer}


@blp.get("/queues")
@admin_api
@blp.response(200, QueuesSchema)
def queues():
    """Messages waiting in each queue, as the broker counts them."""
    celery = current_app.extensions["celery"]
    try:
        found = live.queue_lengths(celery, live.queue_names(celery))
    except Exception as error:  # the broker is away: say so, do not fail the page
        raise Refused("broker_unavailable", f"The broker did not answer: {error}") from None
    return {"queues": found, "broker": urlsplit(celery.conf.broker_url).scheme}


@blp.get("/workers")
@admin_api
@blp.response(200, WorkersSchema)
def workers():
    """Workers that answer remote control (within WORKER_REPLY_TIMEOUT) or sent
    a heartbeat lately: pool, concurrency, active, reserved and scheduled tasks."""
    celery = current_app.extensions["celery"]
    timeout = current_app.config["WORKER_REPLY_TIMEOUT"]
    return {"workers": live.describe_workers(celery, redis_client.current, timeout)}


@blp.get("/audit")
@admin_api
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema, description="One page")
def audit_log(query_string: dict[str, Any]):
    """Operator actions and admin edits, newest first."""
    limit = query_string["limit"]
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if "before" in query_string:
        query = query.where(AuditEntry.id < query_string["before"])
    entries = list(db.session.scalars(query))
    more = len(entries) > limit
    entries = entries[:limit]
    return {"entries": entries, "next_before": entries[-1].id if more else None}
