"""Schedule edits: the checks an entry passes, the write with its audit entry,
and the notice that makes the running beat reload."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.core.api import Refused
from blueprints.ops.audit import audit
from blueprints.schedules.entries import (
    announce_change,
    call_problem,
    send_options,
)
from exts import db
from models import PeriodicEntry
from models.types import utcnow

TIMING = ("kind", "every_seconds", "crontab", "timezone", "run_at")
TIMING_OF_KIND = {"interval": "every_seconds", "crontab": "crontab", "once": "run_at"}


def get_entry(entry_id: int) -> PeriodicEntry:
    return db.get_or_404(PeriodicEntry, entry_id, description="No such schedule entry.")


def list_entries() -> list[PeriodicEntry]:
    return list(db.session.scalars(select(PeriodicEntry).order_by(PeriodicEntry.name)))


def save(entry: PeriodicEntry, values: dict[str, Any]) -> PeriodicEntry:
    """Apply ``values`` to ``entry`` (new or not), audit, commit, tell beat."""
    creating = entry.id is None
    if not creating and entry.builtin:
        for name in ("name", "task"):
            if name in values and values[name] != getattr(entry, name):
                message = f"The product's own entries keep their {name}; disable it instead."
                raise Refused("builtin_field", message, name)
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
        raise Refused("name_taken", "Another schedule entry has that name.", "name") from None
    announce_change()
    return entry


def _check_fits(entry: PeriodicEntry, timing_changed: bool) -> None:
    field = TIMING_OF_KIND.get(entry.kind or "")
    if field is None or getattr(entry, field) is None:
        raise Refused("missing_field", f"A {entry.kind} entry needs '{field}'.", field)
    if (
        entry.kind == "once"
        and timing_changed
        and entry.run_at is not None
        and entry.run_at <= utcnow()
    ):
        raise Refused("invalid_field", "'run_at' must be in the future.", "run_at")
    if entry.kind != "crontab" and entry.timezone is not None:
        entry.timezone = None  # a zone means something to a crontab only
    if problem := call_problem(entry, current_app.extensions["celery"].tasks):
        raise Refused("invalid_arguments", problem, "args")
    entry.problem = None  # beat reads it afresh


def _shown(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def delete(entry: PeriodicEntry) -> None:
    if entry.builtin:
        message = "The product's own entries cannot be deleted; disable it instead."
        raise Refused("builtin", message)
    audit("schedule.delete", f"schedule:{entry.id}", name=entry.name, task=entry.task)
    db.session.delete(entry)
    db.session.commit()
    announce_change()


def run_now(entry: PeriodicEntry) -> str:
    """Send the entry's task now, as beat would; its schedule is unchanged."""
    task = current_app.extensions["celery"].tasks.get(entry.task)
    if task is None:
        raise Refused("task_missing", f"No task named {entry.task!r} is registered here.")
    if problem := call_problem(entry, current_app.extensions["celery"].tasks):
        raise Refused("invalid_arguments", f"{problem} Edit the entry first.")
    options = send_options(entry)
    result = task.apply_async(json.loads(entry.args), json.loads(entry.kwargs), **options)
    audit("schedule.run", f"schedule:{entry.id}", name=entry.name, task_id=result.id)
    db.session.commit()
    return result.id
