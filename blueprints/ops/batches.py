"""How a batch of task changes becomes task_runs rows: merged in the batch,
then upserted by rules that do not depend on which batch lands first."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal_column
from sqlalchemy.dialects import mysql, postgresql, sqlite

from models import TaskRun

# How two sightings of one task merge (in a batch, and in the upsert).
# What identifies a run, and seen_at, are written once, by the first batch that
# lands (every signal gives them); the upsert leaves these indexed columns alone,
# so their indexes are not rewritten on each state change (a third of a write).
IDENTITY = ("name", "parent_id", "root_id", "group_id", "retry_of")
KEEP_FIRST = ("queue", "arguments", "replayable", "periodic_entry")  # the first known value
TAKE_NEWEST = ("worker", "result", "error", "traceback", "runtime")  # the latest known value
RUN_COLUMNS = ("task_id", "state", "state_at", "seen_at", "retries", "timeline", *IDENTITY,
               *KEEP_FIRST, *TAKE_NEWEST)  # fmt: skip
MAX_DETAIL_CHARS = 300  # of a timeline line


@dataclass
class Change:
    task_id: str
    state: str
    at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None


def _timeline_line(change: Change) -> str:
    """[at, state, worker, detail] as one JSON line (built by hand: it is per change)."""
    worker = change.fields.get("worker")
    detail = change.detail[:MAX_DETAIL_CHARS] if change.detail else None
    return (f'["{change.at.isoformat()}","{change.state}",'
            f"{json.dumps(worker) if worker else 'null'},"
            f"{json.dumps(detail) if detail else 'null'}]\n")  # fmt: skip


def merge(changes: list[Change]) -> list[dict[str, Any]]:
    """One row per task from its changes, by the same rules as the upsert."""
    rows: dict[str, dict[str, Any]] = {}
    for change in changes:
        row = rows.get(change.task_id)
        if row is None:
            row = rows[change.task_id] = dict.fromkeys(RUN_COLUMNS)
            row.update(task_id=change.task_id, state=change.state, state_at=change.at,
                       seen_at=change.at, timeline="")  # fmt: skip
        elif change.at >= row["state_at"]:
            row.update(state=change.state, state_at=change.at)
        row["seen_at"] = min(row["seen_at"], change.at)
        values = change.fields
        row["timeline"] += _timeline_line(change)
        for name, value in values.items():
            if value is None:
                continue
            if name == "retries":
                row[name] = max(row[name] or 0, value)
            elif name in TAKE_NEWEST or row[name] is None:  # else known already
                row[name] = value
    return [rows[task_id] for task_id in sorted(rows)]  # one lock order for every writer


def upsert_runs(connection, rows: list[dict[str, Any]]) -> None:
    """Insert the rows, or merge each into the row its task already has."""
    table = TaskRun.__table__
    dialect = connection.dialect.name
    mysql_like = dialect in ("mysql", "mariadb")
    statement: Any
    if mysql_like:
        statement = mysql.insert(table)
        new = statement.inserted
    else:
        statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        new = statement.excluded
    old = table.c
    later = new.state_at >= old.state_at
    # In this order: MySQL's assignments see the columns assigned before them,
    # so state must be decided while state_at is still the old one.
    merged = [
        ("state", case((later, new.state), else_=old.state)),
        ("state_at", case((later, new.state_at), else_=old.state_at)),
        (
            "retries",
            case(
                (new.retries > old.retries, new.retries),
                else_=func.coalesce(old.retries, new.retries),
            ),
        ),
        # '' written out, not bound: PyMySQL's executemany fills in the VALUES
        # rows itself and fails on a placeholder after them.
        ("timeline", func.coalesce(old.timeline, literal_column("''")) + new.timeline),
        *((name, func.coalesce(old[name], new[name])) for name in KEEP_FIRST),
        *((name, func.coalesce(new[name], old[name])) for name in TAKE_NEWEST),
    ]
    if mysql_like:
        statement = statement.on_duplicate_key_update(merged)
    else:
        statement = statement.on_conflict_do_update(index_elements=["task_id"], set_=dict(merged))
    connection.execute(statement, rows)
