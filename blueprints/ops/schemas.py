"""The task history, the broker and the audit log as the API answers them."""

from __future__ import annotations

import marshmallow as ma

from blueprints.core.fields import Flag, JsonText, Moment, OneOf, Problem, QueryNumber, Schema, Text
from blueprints.ops.history import STATES
from models.ops import TASK_ID_LENGTH

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class TaskFiltersSchema(Schema):
    """The history's query string; empty values are no filter."""

    state = Text(
        allow_none=True,
        max_length=16,
        validate=OneOf(STATES, Problem(f"must be one of {', '.join(STATES)}.", "invalid_field")),
    )
    name = Text(allow_none=True, max_length=200, metadata={"description": "a task name"})
    since = Moment(allow_none=True)
    until = Moment(allow_none=True)
    q = Text(
        allow_none=True,
        max_length=TASK_ID_LENGTH,
        metadata={"description": "a task id: the run, its children, its canvas, its reruns"},
    )
    cursor = Text(allow_none=True, max_length=200, metadata={"description": "the last next_cursor"})
    limit = QueryNumber(1, MAX_PAGE_SIZE, load_default=PAGE_SIZE)


class TaskRunSchema(Schema):
    task_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(STATES))
    state_at = Moment(required=True)
    seen_at = Moment(required=True)
    queue = ma.fields.String(allow_none=True)
    worker = ma.fields.String(allow_none=True)
    retries = ma.fields.Function(
        lambda run: run.retries or 0, required=True, metadata={"type": "integer"}
    )
    runtime = ma.fields.Float(allow_none=True)
    error = ma.fields.Function(
        lambda run: run.error or None, metadata={"type": "string", "nullable": True}
    )
    periodic_entry = ma.fields.String(allow_none=True)
    retry_of = ma.fields.String(allow_none=True)


class TaskRunPageSchema(Schema):
    tasks = ma.fields.List(ma.fields.Nested(TaskRunSchema), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)
    names = ma.fields.List(ma.fields.String(), required=True)


class TaskRunDetailSchema(TaskRunSchema):
    timeline = ma.fields.Function(
        lambda run: run.events(),
        required=True,
        metadata={"type": "array", "items": {"type": "object"}},
    )
    received_at = Moment(allow_none=True)
    started_at = Moment(allow_none=True)
    finished_at = Moment(allow_none=True)
    parent_id = ma.fields.String(allow_none=True)
    root_id = ma.fields.String(allow_none=True)
    group_id = ma.fields.String(allow_none=True)
    arguments = JsonText(metadata={"description": "secrets redacted"})
    replayable = ma.fields.Function(
        lambda run: bool(run.replayable), required=True, metadata={"type": "boolean"}
    )
    result = JsonText()
    traceback = ma.fields.Function(
        lambda run: run.traceback or None, metadata={"type": "string", "nullable": True}
    )
    children = ma.fields.List(ma.fields.Nested(TaskRunSchema), required=True)
    group = ma.fields.List(ma.fields.Nested(TaskRunSchema), required=True)
    reruns = ma.fields.List(ma.fields.Nested(TaskRunSchema), required=True)


class TaskDetailSchema(Schema):
    task = ma.fields.Nested(TaskRunDetailSchema, required=True)


class RerunSchema(Schema):
    task_id = ma.fields.String(required=True)
    retry_of = ma.fields.String(required=True)


class RevokeSchema(Schema):
    terminate = Flag(load_default=False, metadata={"description": "kill it if it runs"})


class RevokedSchema(Schema):
    task_id = ma.fields.String(required=True)
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(["revoke", "terminate"]))
    stopped = ma.fields.Boolean(metadata={"description": "terminate: its worker killed it"})
    warning = ma.fields.String(metadata={"description": "terminate: why it was not stopped"})


class QueueSchema(Schema):
    name = ma.fields.String(required=True)
    messages = ma.fields.Integer(required=True)
    consumers = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "null where the broker cannot count them (Redis)"},
    )
    missing = ma.fields.Boolean(metadata={"description": "not declared on the broker yet"})


class QueuesSchema(Schema):
    queues = ma.fields.List(ma.fields.Nested(QueueSchema), required=True)
    broker = ma.fields.String(required=True)


class WorkersSchema(Schema):
    workers = ma.fields.List(ma.fields.Dict(), required=True)


class AuditQuerySchema(Schema):
    before = QueryNumber(1, 10**12, metadata={"description": "an entry id: the page after it"})
    limit = QueryNumber(1, MAX_PAGE_SIZE, load_default=PAGE_SIZE)


class AuditEntrySchema(Schema):
    id = ma.fields.Integer(required=True)
    at = Moment(required=True)
    actor = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    target = ma.fields.String(required=True)
    detail = JsonText()


class AuditPageSchema(Schema):
    entries = ma.fields.List(ma.fields.Nested(AuditEntrySchema), required=True)
    next_before = ma.fields.Integer(required=True, allow_none=True)
