from __future__ import annotations

import secrets

import marshmallow as ma
from celery.states import FAILURE, READY_STATES, RETRY, SUCCESS
from flask import current_app, session

from blueprints.core.api import Refused
from blueprints.core.fields import Schema
from blueprints.core.openapi import Blueprint
from blueprints.jobs.keys import owner_key
from blueprints.jobs.progress import PROGRESS
from exts import redis_client

blp = Blueprint("jobs_api", __name__, url_prefix="/api/tasks", description="Tasks a browser queued")


def browser_id() -> str:
    """This browser's random id, kept in its session cookie, and kept at login.
    It owns the tasks the browser queued, and holds the login codes it asked for."""
    if "browser" not in session:
        session["browser"] = secrets.token_urlsafe(16)
    return session["browser"]


def _owner() -> str:
    """Who may read a task: the browser that queued it, before and after login."""
    return f"browser:{browser_id()}"


def task_owner(task_id: str) -> tuple[str, str, int]:
    """The record (key, value, ttl) that lets the current session, and no one
    else, read this task's status. The caller writes it with ``SET key value EX
    ttl``, in the same Redis call that queues the task where it can.
    """
    return owner_key(task_id), _owner(), current_app.config["TASK_OWNER_TTL"]


class QueuedSchema(Schema):
    """A task queued for the caller; follow it at /api/tasks/<task_id>."""

    task_id = ma.fields.String(required=True)


class ProgressSchema(Schema):
    current = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    percent = ma.fields.Float(required=True)
    description = ma.fields.String(required=True)


class TaskSchema(Schema):
    task_id = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    ready = ma.fields.Boolean(required=True)
    result = ma.fields.Raw(allow_none=True, metadata={"description": "once it succeeded"})
    error = ma.fields.String(metadata={"description": "once it failed, or while it retries"})
    progress = ma.fields.Nested(ProgressSchema, metadata={"description": "while it runs"})


@blp.get("/<task_id>")
@blp.response(200, TaskSchema)
@blp.alt_response(404, response="NotFound")
def task_status(task_id: str):
    """A task this browser queued: its state, and its result once ready."""
    if len(task_id) > 64 or redis_client.get(owner_key(task_id)) != _owner():
        raise Refused("not_found", "No such task.")
    # One read of the backend: separate reads of state and result could see
    # two different moments (STARTED, then FAILURE) and contradict each other.
    meta = current_app.extensions["celery"].backend.get_task_meta(task_id)
    state = meta["status"]
    body = {"task_id": task_id, "state": state, "ready": state in READY_STATES}
    if state == SUCCESS:
        body["result"] = meta["result"]
    elif state in (FAILURE, RETRY):
        body["error"] = str(meta["result"])
    elif state == PROGRESS:
        body["progress"] = meta["result"]
    return body
