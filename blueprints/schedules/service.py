"""Schedule edits: the checks an entry passes, the write with its audit entry,
and the notice that makes the running beat reload."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.api import ApiError
from blueprints.legacy_input import is_plain_text, moment_field
from blueprints.ops.audit import audit
from blueprints.schedules.entries import (
    announce_change,
    call_problem,
    check_crontab,
    next_run,
    send_options,
)
from exts import db
from models import PeriodicEntry
from models.schedule import KINDS
from models.types import utcnow

FIELDS = ("name", "task", "args", "kwargs", "queue", "kind", "every_seconds", "crontab",
          "timezone", "run_at", "enabled", "expires_at", "description")  # fmt: skip
TIMING = ("kind", "every_seconds", "crontab", "timezone", "run_at")
TIMING_OF_KIND = {"interval": "every_seconds", "crontab": "crontab", "once": "run_at"}
MAX_ARGUMENTS = 10_000  # characters of JSON, args and kwargs each
MAX_EVERY = 366 * 86400
MAX_DESCRIPTION = 500


def registered_tasks() -> list[str]:
    """The tasks an entry may name: this app's, not Celery's own."""
    celery = current_app.extensions["celery"]
    return sorted(name for name in celery.tasks if not name.startswith("celery."))


def _text(body: dict[str, Any], name: str, max_length: int, required: bool) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "missing_field", f"'{name}' is required.", field=name)
        return None
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"'{name}' must be a string.", field=name)
    if len(value) > max_length:
        message = f"'{name}' is too long: {max_length} characters at most."
        raise ApiError(400, "invalid_field", message, field=name)
    if not is_plain_text(value) or not value.strip():
        raise ApiError(400, "invalid_field", f"'{name}' must be one line of text.", field=name)
    return value.strip()


def _arguments(body: dict[str, Any], name: str, kind: type) -> str:
    value = body[name]
    if not isinstance(value, kind):  # parsed JSON: an object's keys are strings
        example = '[1, "two"]' if kind is list else '{"key": "value"}'
        shape = "array" if kind is list else "object"
        message = f"'{name}' must be a JSON {shape}, such as {example}."
        raise ApiError(400, "invalid_field", message, field=name)
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > MAX_ARGUMENTS:
        raise ApiError(
            400,
            "invalid_field",
            f"'{name}' is too long: {MAX_ARGUMENTS} characters of JSON at most.",
            field=name,
        )
    return text


def _timing(body: dict[str, Any], values: dict[str, Any]) -> None:
    if "kind" in body:
        if body["kind"] not in KINDS:
            raise ApiError(400, "invalid_field", f"'kind' must be one of {', '.join(KINDS)}.")
        values["kind"] = body["kind"]
    if body.get("every_seconds") is not None:
        every = body["every_seconds"]
        if (
            isinstance(every, bool)
            or not isinstance(every, int | float)
            or not 1 <= every <= MAX_EVERY
        ):
            message = f"'every_seconds' must be a number from 1 to {MAX_EVERY}."
            raise ApiError(400, "invalid_field", message, field="every_seconds")
        values["every_seconds"] = float(every)
    if body.get("crontab") is not None:
        line = _text(body, "crontab", 200, required=True)
        try:
            values["crontab"] = " ".join(check_crontab(line or ""))
        except ValueError as error:
            raise ApiError(400, "invalid_crontab", str(error), field="crontab") from None
    if "timezone" in body:
        zone = _text(body, "timezone", 64, required=False)
        if zone is not None and zone not in zoneinfo.available_timezones():
            message = f"'timezone' must be a zone such as Europe/Berlin, not {zone!r}."
            raise ApiError(400, "invalid_timezone", message, field="timezone")
        values["timezone"] = zone
    if body.get("run_at") is not None:
        values["run_at"] = moment_field(body, "run_at")


def clean(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The fields in ``body``, each checked; name, task, kind and its timing are
    required unless ``partial``. Whether they fit together is checked in save()."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    for name in ("name", "task"):
        if not partial or name in body:
            values[name] = _text(body, name, 200, required=True)
    if "task" in values and values["task"] not in registered_tasks():
        message = f"No task named {values['task']!r} is registered; choose one the workers know."
        raise ApiError(400, "unknown_task", message, field="task")
    for name, kind in (("args", list), ("kwargs", dict)):
        if name in body:
            values[name] = _arguments(body, name, kind)
    if "queue" in body:
        values["queue"] = _text(body, "queue", 200, required=False)
    if not partial and "kind" not in body:
        raise ApiError(400, "missing_field", f"'kind' is required: one of {', '.join(KINDS)}.")
    _timing(body, values)
    for name in TIMING[1:]:
        if name in body and body[name] is None:
            values[name] = None
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ApiError(400, "invalid_field", "'enabled' must be true or false.")
        values["enabled"] = body["enabled"]
    if "expires_at" in body:
        values["expires_at"] = (
            moment_field(body, "expires_at") if body["expires_at"] is not None else None
        )
    if "description" in body:
        values["description"] = _text(body, "description", MAX_DESCRIPTION, required=False) or ""
    return values


def get_entry(entry_id: int) -> PeriodicEntry:
    entry = db.session.get(PeriodicEntry, entry_id)
    if entry is None:
        raise ApiError(404, "not_found", "No such schedule entry.")
    return entry


def list_entries() -> list[PeriodicEntry]:
    return list(db.session.scalars(select(PeriodicEntry).order_by(PeriodicEntry.name)))


def save(entry: PeriodicEntry, values: dict[str, Any]) -> PeriodicEntry:
    """Apply ``values`` to ``entry`` (new or not), audit, commit, tell beat."""
    creating = entry.id is None
    if not creating and entry.builtin:
        for name in ("name", "task"):
            if name in values and values[name] != getattr(entry, name):
                raise ApiError(
                    400,
                    "builtin",
                    f"The product's own entries keep their {name}; disable it instead.",
                )
    if "kind" in values:  # the timing of the other kinds goes
        for kind, field in TIMING_OF_KIND.items():
            if kind != values["kind"] and field not in values:
                values[field] = None
    before = {name: getattr(entry, name) for name in values}
    changed = {name: value for name, value in values.items() if creating or before[name] != value}
    for name, value in changed.items():
        setattr(entry, name, value)
    _check_fits(entry, timing_changed=creating or any(name in changed for name in TIMING))
    now = utcnow()
    if creating or any(name in changed for name in TIMING) or changed.get("enabled") is True:
        entry.due_from = now  # counts from now: an edit never makes it due at once
    if not changed:
        return entry
    entry.changed_at = now
    try:
        if creating:
            db.session.add(entry)
            db.session.flush()  # for its id
            audit("schedule.create", f"schedule:{entry.id}", name=entry.name, task=entry.task)
        else:
            changes = {
                name: {"from": _shown(before[name]), "to": _shown(value)}
                for name, value in changed.items()
            }
            audit("schedule.update", f"schedule:{entry.id}", name=entry.name, changes=changes)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "name_taken", "Another schedule entry has that name.") from None
    announce_change()
    return entry


def _check_fits(entry: PeriodicEntry, timing_changed: bool) -> None:
    field = TIMING_OF_KIND.get(entry.kind or "")
    if field is None or getattr(entry, field) is None:
        raise ApiError(400, "missing_field", f"A {entry.kind} entry needs '{field}'.")
    if (
        entry.kind == "once"
        and timing_changed
        and entry.run_at is not None
        and entry.run_at <= utcnow()
    ):
        raise ApiError(400, "invalid_field", "'run_at' must be in the future.")
    if entry.kind != "crontab" and entry.timezone is not None:
        entry.timezone = None  # a zone means something to a crontab only
    if problem := call_problem(entry, current_app.extensions["celery"].tasks):
        raise ApiError(400, "invalid_arguments", problem)
    entry.problem = None  # beat reads it afresh


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def delete(entry: PeriodicEntry) -> None:
    if entry.builtin:
        raise ApiError(
            409, "builtin", "The product's own entries cannot be deleted; disable it instead."
        )
    audit("schedule.delete", f"schedule:{entry.id}", name=entry.name, task=entry.task)
    db.session.delete(entry)
    db.session.commit()
    announce_change()


def run_now(entry: PeriodicEntry) -> str:
    """Send the entry's task now, as beat would; its schedule is unchanged."""
    task = current_app.extensions["celery"].tasks.get(entry.task)
    if task is None:
        raise ApiError(409, "unknown_task", f"No task named {entry.task!r} is registered here.")
    if problem := call_problem(entry, current_app.extensions["celery"].tasks):
        raise ApiError(400, "invalid_arguments", f"{problem} Edit the entry first.")
    options = send_options(entry)
    result = task.apply_async(json.loads(entry.args), json.loads(entry.kwargs), **options)
    audit("schedule.run", f"schedule:{entry.id}", name=entry.name, task_id=result.id)
    db.session.commit()
    return result.id


def to_json(entry: PeriodicEntry) -> dict[str, Any]:
    zone = current_app.config["TIMEZONE"]
    try:
        next_at = next_run(entry, zone)
    except Exception:  # a row written past these checks: beat reports it in `problem`
        next_at = None
    return {
        "id": entry.id,
        "name": entry.name,
        "task": entry.task,
        "args": _json_or(entry.args, []),
        "kwargs": _json_or(entry.kwargs, {}),
        "queue": entry.queue,
        "kind": entry.kind,
        "every_seconds": entry.every_seconds,
        "crontab": entry.crontab,
        "timezone": entry.timezone if entry.kind != "crontab" else entry.timezone or zone,
        "run_at": entry.run_at,
        "enabled": entry.enabled,
        "expires_at": entry.expires_at,
        "description": entry.description,
        "builtin": entry.builtin,
        "last_run_at": entry.last_run_at,
        "total_runs": entry.total_runs,
        "next_run_at": next_at,
        "problem": entry.problem,
    }


def _json_or(text: str, default: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # a row written straight into the table; `problem` says so
        return default
