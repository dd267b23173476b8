"""Beat's schedule as rows: what each row means to Celery, the product's own
entries, and the notice that tells beat a row changed."""

from __future__ import annotations

import inspect
import json
import logging
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis as redis_lib
from celery import Celery
from celery.schedules import BaseSchedule, ParseException, crontab, schedstate, schedule
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.schedules.keys import CHANGED_CHANNEL
from exts import db, redis_client
from models import PeriodicEntry
from models.types import utcnow

log = logging.getLogger(__name__)

# Every change of a row is announced here; beat reloads at once (and checks
# the table every BEAT_CHECK_SECONDS besides, for notices it missed).
# How far ahead to look again at an entry that is not due soon (disabled,
# expired, run once already): beat wakes for notices and its lease anyway.
IDLE_CHECK = 300.0

# The fields of a crontab line, in order: what users call them, what crontab() does.
CRONTAB_FIELDS = (
    ("minute", "minute"),
    ("hour", "hour"),
    ("day of month", "day_of_month"),
    ("month", "month_of_year"),
    ("day of week", "day_of_week"),
)


def check_crontab(line: str) -> list[str]:
    """The five fields of a crontab line; ValueError naming the field that is wrong."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError("A crontab line has 5 fields (minute hour day-of-month month"
                         f" day-of-week), not {len(fields)}.")  # fmt: skip
    for value, (name, keyword) in zip(fields, CRONTAB_FIELDS, strict=True):
        try:
            crontab(**{keyword: value})  # Celery's own parser, as beat will read it
        except (ValueError, ParseException) as error:
            raise ValueError(f"The crontab's {name} field {value!r} is wrong: {error}") from None
    keywords = {keyword: value for value, (_, keyword) in zip(fields, CRONTAB_FIELDS, strict=True)}
    try:  # each field can be right and the date they make impossible: 30 February
        crontab(**keywords).remaining_delta(datetime.now(UTC))
    except RuntimeError:  # Celery's "unable to rollover", which stops beat
        raise ValueError(
            f"The crontab {line!r} never runs: no date has that day of month in that month"
            " (and weekday), as with 30 February or 31 April. Choose a day every one of its"
            " months has."
        ) from None
    return fields


class ZonedCrontab(crontab):
    """A crontab read on the wall clock of its own zone, daylight saving included:
    "0 3 * * *" in Europe/Berlin is 01:00 UTC in summer and 02:00 UTC in winter."""

    def __init__(self, line: str, zone: ZoneInfo, app: Celery | None = None) -> None:
        minute, hour, day_of_month, month_of_year, day_of_week = check_crontab(line)
        self.line, self.zone = line, zone
        super().__init__(minute, hour, day_of_week, day_of_month, month_of_year,
                         nowfun=self._now, app=app)  # fmt: skip

    def _now(self) -> datetime:
        return datetime.now(self.zone)

    @property
    def tz(self) -> ZoneInfo:  # type: ignore[override]
        return self.zone

    def next_after(self, moment: datetime) -> datetime:
        """The first time it fires after ``moment``, in UTC."""
        start, delta, _ = self.remaining_delta(moment.astimezone(self.zone))
        return (start + delta).astimezone(UTC)

    def remaining_estimate(self, last_run_at: datetime, *args) -> timedelta:
        # Celery reads the fields on last_run_at's own clock: give it the zone's.
        return super().remaining_estimate(last_run_at.astimezone(self.zone), *args)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ZonedCrontab):
            return NotImplemented
        return (self.line, self.zone) == (other.line, other.zone)

    def __repr__(self) -> str:
        return f"<crontab: {self.line} ({self.zone.key})>"


class Once(BaseSchedule):
    """Due once, at ``run_at``; never again after a run at or after it."""

    def __init__(self, run_at: datetime, app: Celery | None = None) -> None:
        super().__init__(nowfun=utcnow, app=app)
        self.run_at = run_at

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return self.run_at - self.now()

    def is_due(self, last_run_at: datetime) -> schedstate:
        if last_run_at >= self.run_at:
            return schedstate(False, IDLE_CHECK)
        remaining = self.remaining_estimate(last_run_at).total_seconds()
        return schedstate(remaining <= 0, IDLE_CHECK if remaining <= 0 else remaining)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Once):
            return NotImplemented
        return self.run_at == other.run_at

    def __repr__(self) -> str:
        return f"<once: {self.run_at.isoformat()}>"


def schedule_of(entry: PeriodicEntry, default_zone: str, app: Celery | None = None) -> BaseSchedule:
    """The Celery schedule a row describes."""
    if entry.kind == "interval":
        return schedule(timedelta(seconds=entry.every_seconds or 0), app=app)
    if entry.kind == "crontab":
        return ZonedCrontab(entry.crontab or "", ZoneInfo(entry.timezone or default_zone), app=app)
    if entry.kind == "once" and entry.run_at is not None:
        return Once(entry.run_at, app=app)
    raise ValueError(f"entry {entry.name!r}: kind {entry.kind!r} without its timing")


def arguments_problem(task: Any, args: Any, kwargs: Any) -> str | None:
    """Why ``task`` cannot be called with ``args`` and ``kwargs``, naming the
    argument; None if it can. Celery itself refuses them only when sending."""
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        return "The arguments must be a JSON array and the keyword arguments a JSON object."
    signature = inspect.signature(task.run)  # without `self` for a bound task
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        return f"The arguments do not fit {task.name}{signature}: {error}."
    try:
        hints = typing.get_type_hints(task.run)
    except (NameError, TypeError):  # hints that do not resolve: the count is all we check
        hints = {}
    for name, value in bound.arguments.items():
        wanted = _json_kinds(hints.get(name, Any))
        if wanted and not any(_is_kind(value, kind) for kind in wanted):
            words = " or ".join(JSON_WORDS[kind] for kind in wanted)
            shown = json.dumps(value, ensure_ascii=False)[:40]
            return f"The argument {name!r} of {task.name} must be {words}, not {shown}."
    return None


# The JSON a task argument's type hint takes, in the form's words.
JSON_WORDS = {str: "text", bool: "true or false", int: "a whole number", float: "a number",
              list: "a JSON array", dict: "a JSON object", type(None): "null"}  # fmt: skip


def _json_kinds(hint: Any) -> list[type]:
    """The JSON kinds ``hint`` allows; empty when it allows any (or we cannot tell)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [_json_kinds(part) for part in typing.get_args(hint)]
        return [] if [] in kinds else [kind for part in kinds for kind in part]
    hint = typing.get_origin(hint) or hint  # list[int] -> list
    return [hint] if hint in JSON_WORDS else []


def _is_kind(value: Any, kind: type) -> bool:
    if kind in (int, float) and isinstance(value, bool):
        return False  # JSON true is not a number
    return isinstance(value, (int, float) if kind is float else kind)


def call_problem(entry: PeriodicEntry, tasks: Mapping[str, Any]) -> str | None:
    """Why the entry's task cannot be called with its arguments: no such task,
    arguments that are not JSON, or that do not fit; None if it can."""
    task = tasks.get(entry.task)
    if task is None:
        return f"No task named {entry.task!r} is registered."
    try:  # a new row has its column defaults only once it is written
        args, kwargs = json.loads(entry.args or "[]"), json.loads(entry.kwargs or "{}")
    except ValueError:  # a row written straight into the table
        args = kwargs = None
    return arguments_problem(task, args, kwargs)


def row_problem(entry: PeriodicEntry, default_zone: str, app: Celery) -> str | None:
    """Why beat cannot run the row as it stands (a row written past the API's
    checks, or by an older release); None if it can."""
    try:
        schedule_of(entry, default_zone, app)
    except ValueError as error:  # a wrong crontab or zone
        return str(error)
    except Exception as error:  # anything else a row can hold must not stop beat either
        return f"Its timing cannot be read: {error}"
    return call_problem(entry, app.tasks)


def send_options(entry: PeriodicEntry) -> dict[str, Any]:
    """How a run of the entry is sent: its queue, and its name in a header so
    task history shows which entry sent it."""
    options: dict[str, Any] = {"headers": {"periodic_task_name": entry.name}}
    if entry.queue:
        options["queue"] = entry.queue
    return options


def counts_from(entry: PeriodicEntry) -> datetime:
    """The time the schedule counts from: the last run, unless the timing changed since."""
    return max(moment for moment in (entry.last_run_at, entry.due_from) if moment is not None)


def next_run(entry: PeriodicEntry, default_zone: str, app: Celery | None = None) -> datetime | None:
    """When beat sends it next (now, if it is overdue); None if it never will."""
    now = utcnow()
    if not entry.enabled or (entry.expires_at is not None and entry.expires_at <= now):
        return None
    timing = schedule_of(entry, default_zone, app)
    reference = counts_from(entry)
    if isinstance(timing, Once):
        return None if reference >= timing.run_at else max(timing.run_at, now)
    if isinstance(timing, ZonedCrontab):
        moment = timing.next_after(reference)
    else:
        moment = reference + timedelta(seconds=entry.every_seconds or 0)
    if entry.expires_at is not None and moment >= entry.expires_at:
        return None
    return max(moment, now)  # overdue: beat sends it at once


def timing_from_setting(value: str) -> dict[str, Any]:
    """A row's timing from a setting: seconds ("120") or a crontab line."""
    if len(value.split()) == 1:
        seconds = float(value)
        if seconds <= 0:
            raise ValueError(f"not a positive number of seconds: {value!r}")
        return {"kind": "interval", "every_seconds": seconds}
    return {"kind": "crontab", "crontab": " ".join(check_crontab(value))}


def builtin_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries the product needs, as rows; created on first start."""
    refresh = timing_from_setting(config["INTERFACE_CACHE_REFRESH_SCHEDULE"])
    return [
        {"name": "sweep-code-outbox", "task": "auth.dispatch_code_sends", "kind": "interval",
         "every_seconds": 30.0, "description": "Sends login codes whose first try failed."},
        {"name": "preload-todays-sales", "task": "seckill.preload_today", "kind": "crontab",
         "crontab": "0 0 * * *", "description": "Loads today's sales into Redis at midnight."},
        {"name": "reconcile-sales", "task": "seckill.reconcile", "kind": "interval",
         "every_seconds": 60.0, "description": "Writes orders a lost drain left unwritten."},
        {"name": "refresh-interface-caches", "task": "cache.refresh", **refresh,
         "description": "Rebuilds every cached answer (seeded from the setting of that name)."},
        {"name": "remind-upcoming-sales", "task": "reminders.dispatch_due", "kind": "interval",
         "every_seconds": 15.0, "description": "Sends the reminders of sales about to open."},
        {"name": "daily-sales-report", "task": "reports.daily", "kind": "crontab",
         "crontab": "5 0 * * *", "description": "Yesterday's figures per sale, mailed to admins."},
        {"name": "prune-task-history", "task": "ops.prune_history", "kind": "interval",
         "every_seconds": 3600.0, "description": "Drops task history past its age and size caps."},
    ]  # fmt: skip


def seed_builtin(config: dict[str, Any]) -> list[str]:
    """Add the product's entries that are missing (all of them, on first start);
    the names added. Entries an admin has edited are left as they are."""
    existing = set(db.session.scalars(select(PeriodicEntry.name)))
    added = [values for values in builtin_entries(config) if values["name"] not in existing]
    for values in added:
        db.session.add(PeriodicEntry(builtin=True, **values))
    try:
        db.session.commit()
    except IntegrityError:  # another beat seeded them at the same moment
        db.session.rollback()
        return []
    return [values["name"] for values in added]


def announce_change(client: redis_lib.Redis | None = None) -> None:
    """Tell the running beat to reload now; if Redis misses it, beat's periodic
    check finds the change within BEAT_CHECK_SECONDS."""
    try:
        (client or redis_client).publish(CHANGED_CHANNEL, "changed")
    except redis_lib.RedisError as error:
        log.warning("schedule change not announced (beat finds it on its next check): %s", error)
