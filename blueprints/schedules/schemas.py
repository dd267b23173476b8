"""Schedule entries as the API reads and answers them."""

from __future__ import annotations

import json
import zoneinfo
from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import ValidationError

from blueprints.core.fields import (
    Coded,
    Field,
    Flag,
    Moment,
    OneOf,
    Problem,
    Schema,
    Text,
    length_of,
)
from blueprints.core.queueing import registered_tasks
from blueprints.schedules.entries import check_crontab, next_run
from models.schedule import KINDS, PeriodicEntry

MAX_ARGUMENTS = 10_000  # characters of JSON, args and kwargs each
MAX_EVERY = 366 * 86400
EVERY = f"must be a number from 1 to {MAX_EVERY:,}."


class Arguments(Field):
    """A task's args (a JSON array) or kwargs (a JSON object): stored as JSON text."""

    def __init__(self, shape: type, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shape = shape

    def _deserialize(self, value, attr, data, **kwargs):  # the JSON text
        if not isinstance(value, self.shape):  # parsed JSON: an object's keys are strings
            example = '[1, "two"]' if self.shape is list else '{"key": "value"}'
            shape = "array" if self.shape is list else "object"
            raise ValidationError(f"must be a JSON {shape}, such as {example}.")
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > MAX_ARGUMENTS:
            raise ValidationError(f"is too long: {MAX_ARGUMENTS:,} characters of JSON at most.")
        return text

    def _serialize(self, value, attr, obj, **kwargs) -> Any:
        try:
            return json.loads(value)
        except (TypeError, ValueError):  # a row written straight into the table: `problem` says
            return self.shape()


class ArgumentList(Arguments, ma.fields.List):  # documented as an array
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(list, ma.fields.Raw(), **kwargs)


class ArgumentMap(Arguments, ma.fields.Dict):  # documented as an object
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dict, **kwargs)


class Crontab(Text):
    """minute hour day-of-month month day-of-week, as beat can run it."""

    def _deserialize(self, value, attr, data, **kwargs):
        line = super()._deserialize(value, attr, data, **kwargs)
        if line is None:
            return None
        try:
            return " ".join(check_crontab(line))
        except ValueError as error:
            raise ValidationError(Coded(str(error), "invalid_crontab", whole=True)) from None


class Zone(Text):
    def _deserialize(self, value, attr, data, **kwargs):
        zone = super()._deserialize(value, attr, data, **kwargs)
        if zone is not None and zone not in zoneinfo.available_timezones():
            message = f"'timezone' must be a zone such as Europe/Berlin, not {zone!r}."
            raise ValidationError(Coded(message, "invalid_timezone", whole=True))
        return zone


def registered(name: str) -> None:
    if name not in registered_tasks():
        message = f"No task named {name!r} is registered; choose one the workers know."
        raise ValidationError(Coded(message, "unknown_task", whole=True))


class ScheduleInputSchema(Schema):
    """A new entry needs name, task, kind and that kind's timing; an edit
    (partial) any field. Whether they fit together is the service's check."""

    name = Text(required=True, max_length=length_of(PeriodicEntry.name))
    task = Text(required=True, max_length=length_of(PeriodicEntry.task), validate=registered,
                metadata={"description": "a registered task (GET lists them)"})  # fmt: skip
    args = ArgumentList()
    kwargs = ArgumentMap()
    queue = Text(max_length=length_of(PeriodicEntry.queue), allow_none=True)
    kind = Text(required=True, validate=OneOf(KINDS, Problem(
        f"must be one of {', '.join(KINDS)}.", "invalid_field")))  # fmt: skip
    every_seconds = ma.fields.Float(
        allow_none=True, validate=ma.validate.Range(1, MAX_EVERY, error=EVERY),
        error_messages={"invalid": EVERY}, metadata={"description": "interval"},
    )  # fmt: skip
    crontab = Crontab(max_length=length_of(PeriodicEntry.crontab), allow_none=True,
                      metadata={"description": "minute hour day month weekday"})  # fmt: skip
    timezone = Zone(max_length=length_of(PeriodicEntry.timezone), allow_none=True,
                    metadata={"description": "the crontab's zone; else TIMEZONE"})  # fmt: skip
    run_at = Moment(allow_none=True, metadata={"description": "once"})
    enabled = Flag()
    expires_at = Moment(allow_none=True)
    description = Text(max_length=500, blank=True)


class ScheduleEntrySchema(Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    task = ma.fields.String(required=True)
    args = ArgumentList(required=True)
    kwargs = ArgumentMap(required=True)
    queue = ma.fields.String(allow_none=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    every_seconds = ma.fields.Float(allow_none=True)
    crontab = ma.fields.String(allow_none=True)
    timezone = ma.fields.Method("zone", metadata={"type": "string", "nullable": True})
    run_at = Moment(allow_none=True)
    enabled = ma.fields.Boolean(required=True)
    expires_at = Moment(allow_none=True)
    description = ma.fields.String()
    builtin = ma.fields.Boolean(required=True)
    last_run_at = Moment(required=True, allow_none=True)
    total_runs = ma.fields.Integer(required=True)
    next_run_at = ma.fields.Method("next_run", required=True, metadata={
        "type": "string", "format": "date-time", "nullable": True})  # fmt: skip
    problem = ma.fields.String(allow_none=True, metadata={"description": "why beat skips it"})

    def zone(self, entry) -> str | None:
        """A crontab's zone, TIMEZONE if it names none; the other kinds have none."""
        if entry.kind != "crontab":
            return entry.timezone
        return entry.timezone or current_app.config["TIMEZONE"]

    def next_run(self, entry) -> str | None:
        try:
            moment = next_run(entry, current_app.config["TIMEZONE"])
        except Exception:  # a row written past these checks: beat reports it in `problem`
            return None
        return moment.isoformat() if moment else None


class ScheduleAnswerSchema(Schema):
    entry = ma.fields.Nested(ScheduleEntrySchema, required=True)


class ScheduleListSchema(Schema):
    entries = ma.fields.List(ma.fields.Nested(ScheduleEntrySchema), required=True)
    tasks = ma.fields.List(ma.fields.String(), required=True)
