"""The operator's view of tasks: the /admin/tasks page and the JSON behind it."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request
from sqlalchemy import select

from blueprints.api import ApiError
from blueprints.auth.access import admin_api, admin_page
from blueprints.legacy_input import is_plain_text, json_body, moment_field
from blueprints.ops import actions, history, live
from exts import db, redis_client
from models import AuditEntry, TaskRun
from models.ops import TASK_ID_LENGTH

bp = Blueprint("ops", __name__)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@bp.get("/admin/tasks")
@admin_page
def tasks_page():
    return render_template("admin/tasks.html", states=history.STATES)


def _limit() -> int:
    raw = request.args.get("limit", str(PAGE_SIZE))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(400, "invalid_field", f"'limit' must be from 1 to {MAX_PAGE_SIZE}.")
    return int(raw)


def _filters() -> history.Filters:
    args = request.args
    state = args.get("state") or None
    if state is not None and state not in history.STATES:
        raise ApiError(400, "invalid_field", f"'state' must be one of {', '.join(history.STATES)}.")
    name = args.get("name") or None
    if name is not None and (len(name) > 200 or not is_plain_text(name)):
        raise ApiError(400, "invalid_field", "'name' must be a task name.")
    task_id = args.get("q", "").strip() or None
    if task_id is not None and (len(task_id) > TASK_ID_LENGTH or not is_plain_text(task_id)):
        raise ApiError(400, "invalid_field", "'q' is a task id: 64 characters at most.")
    return history.Filters(
        state=state,
        name=name,
        since=moment_field(args, "since") if args.get("since") else None,
        until=moment_field(args, "until") if args.get("until") else None,
        task_id=task_id,
    )


def task_names() -> list[str]:
    """The tasks this app defines (the filter's choices)."""
    celery = current_app.extensions["celery"]
    return sorted(name for name in celery.tasks if not name.startswith("celery."))


@bp.get("/api/admin/tasks")
@admin_api
def list_tasks():
    """Task history, newest first, a page at a time.
    ---
    get:
      tags: [admin]
      parameters:
        - {in: query, name: state, schema: TaskState}
        - {in: query, name: name, schema: {type: string, maxLength: 200}, description: a task name}
        - {in: query, name: since, schema: {type: string, format: date-time}}
        - {in: query, name: until, schema: {type: string, format: date-time}}
        - in: query
          name: q
          schema: {type: string, maxLength: 64}
          description: "a task id: the run, its children, its canvas, its reruns"
        - {in: query, name: cursor, schema: {type: string}, description: the last next_cursor}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          description: One page
          content: {application/json: {schema: TaskRunPage}}
        400: BadRequest
    """
    filters, limit = _filters(), _limit()
    after = None
    if request.args.get("cursor"):
        try:
            after = history.decode_cursor(request.args["cursor"])
        except ValueError:
            raise ApiError(400, "invalid_field", "'cursor' is not one this list gave.") from None
    runs = history.list_runs(filters, limit + 1, after)
    more = len(runs) > limit
    runs = runs[:limit]
    return jsonify(
        tasks=[run.to_json() for run in runs],
        next_cursor=history.encode_cursor(runs[-1]) if more else None,
        names=task_names(),
    )


def _run(task_id: str) -> TaskRun:
    run = db.session.get(TaskRun, task_id) if len(task_id) <= TASK_ID_LENGTH else None
    if run is None:
        raise ApiError(404, "not_found", "No such task in the history.")
    return run


@bp.get("/api/admin/tasks/<task_id>")
@admin_api
def task_detail(task_id: str):
    """One run: its timeline, redacted arguments, result or traceback, and the
    runs it started, its group, and its reruns.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The run
          content: {application/json: {schema: TaskRunDetail}}
        404: NotFound
    """
    run = _run(task_id)
    related = history.related(run)
    return jsonify(
        task={
            **run.to_json(detail=True),
            **{kind: [r.to_json() for r in runs] for kind, runs in related.items()},
        }
    )


@bp.post("/api/admin/tasks/<task_id>/retry")
@admin_api
def retry_task(task_id: str):
    """Run a failed or revoked task again with its arguments: a new run, linked
    to this one.
    ---
    post:
      tags: [admin]
      responses:
        202:
          description: Queued
          content: {application/json: {schema: Rerun}}
        404: NotFound
        409:
          description: Not failed, unknown here, or its arguments were redacted
          content: {application/json: {schema: Error}}
    """
    run = _run(task_id)
    new_id = actions.rerun(current_app.extensions["celery"], run)
    return jsonify(task_id=new_id, retry_of=task_id), 202


@bp.post("/api/admin/tasks/<task_id>/revoke")
@admin_api
def revoke_task(task_id: str):
    """Revoke a waiting task, or terminate a running one: its prefork child is
    killed (a solo worker cannot stop the task it runs: `stopped` is false and
    `warning` says so).
    ---
    post:
      tags: [admin]
      requestBody:
        content:
          application/json:
            schema: RevokeInput
      responses:
        202:
          description: Asked of the workers
          content: {application/json: {schema: Revoked}}
        404: NotFound
        409:
          description: Finished already, or running and not to be terminated
          content: {application/json: {schema: Error}}
    """
    body = json_body() if request.content_length else {}
    unknown = sorted(set(body) - {"terminate"})
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {', '.join(unknown)}.")
    terminate = body.get("terminate", False)
    if not isinstance(terminate, bool):
        raise ApiError(400, "invalid_field", "'terminate' must be true or false.")
    run = _run(task_id)
    answer = actions.revoke(current_app.extensions["celery"], run, terminate)
    return jsonify(task_id=task_id, **answer), 202


@bp.get("/api/admin/queues")
@admin_api
def queues():
    """Messages waiting in each queue, as the broker counts them.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The queues
          content: {application/json: {schema: Queues}}
    """
    celery = current_app.extensions["celery"]
    try:
        found = live.queue_lengths(celery, live.queue_names(celery))
    except Exception as error:  # the broker is away: say so, do not fail the page
        raise ApiError(503, "broker_unavailable", f"The broker did not answer: {error}") from None
    return jsonify(queues=found, broker=urlsplit(celery.conf.broker_url).scheme)


@bp.get("/api/admin/workers")
@admin_api
def workers():
    """Workers that answer remote control (within WORKER_REPLY_TIMEOUT) or sent
    a heartbeat lately: pool, concurrency, active, reserved and scheduled tasks.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The workers
          content: {application/json: {schema: Workers}}
    """
    celery = current_app.extensions["celery"]
    timeout = current_app.config["WORKER_REPLY_TIMEOUT"]
    return jsonify(workers=live.describe_workers(celery, redis_client.current, timeout))


@bp.get("/api/admin/audit")
@admin_api
def audit_log():
    """Operator actions and admin edits, newest first.
    ---
    get:
      tags: [admin]
      parameters:
        - {in: query, name: before, schema: {type: integer, minimum: 1}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}}
      responses:
        200:
          description: One page
          content: {application/json: {schema: AuditPage}}
        400: BadRequest
    """
    limit = _limit()
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    before = request.args.get("before")
    if before:
        if not before.isascii() or not before.isdigit() or len(before) > 12:
            raise ApiError(400, "invalid_field", "'before' must be an entry id.")
        query = query.where(AuditEntry.id < int(before))
    entries = list(db.session.scalars(query))
    more = len(entries) > limit
    entries = entries[:limit]
    return jsonify(
        entries=[entry.to_json() for entry in entries],
        next_before=entries[-1].id if more else None,
    )
