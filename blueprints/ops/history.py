"""Reading and pruning task history."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, tuple_, union

from blueprints.core.fields import EARLIEST, LATEST, is_plain_text
from exts import db
from models import TaskRun
from models.types import utcnow

STATES = ("SENT", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED", "REJECTED",
          "IGNORED")  # fmt: skip
PRUNE_BATCH = 5000


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    task_id: str | None = None  # this run, its children, its canvas, its reruns


def encode_cursor(run: TaskRun) -> str:
    raw = json.dumps([run.seen_at.isoformat(), run.task_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (seen_at, task_id) a page ends with; ValueError if it is not one of ours."""
    try:
        seen_at, task_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(seen_at)
        # A forged one could hold a time no database takes (year 1 with an offset).
        in_range = moment.tzinfo is not None and EARLIEST <= moment.astimezone(UTC) < LATEST
    except (ValueError, TypeError, UnicodeDecodeError, OverflowError) as error:
        raise ValueError("not a cursor from this list") from error
    if not in_range or not isinstance(task_id, str) or not is_plain_text(task_id):
        raise ValueError("not a cursor from this list")
    return moment, task_id


def list_runs(filters: Filters, limit: int, after: tuple[datetime, str] | None = None):
    """Newest first; ``after`` continues from a page's last row."""
    query = select(TaskRun).order_by(TaskRun.seen_at.desc(), TaskRun.task_id.desc())
    if filters.state:
        query = query.where(TaskRun.state == filters.state)
    if filters.name:
        query = query.where(TaskRun.name == filters.name)
    if filters.since:
        query = query.where(TaskRun.seen_at >= filters.since)
    if filters.until:
        query = query.where(TaskRun.seen_at < filters.until)
    if filters.task_id:
        # One index lookup per column (partial indexes: see models/ops.py).
        family = union(*(select(TaskRun.task_id).where(column == filters.task_id) for column in (
            TaskRun.task_id, TaskRun.parent_id, TaskRun.root_id, TaskRun.group_id,
            TaskRun.retry_of)))  # fmt: skip
        query = query.where(TaskRun.task_id.in_(family))
    if after is not None:
        query = query.where(tuple_(TaskRun.seen_at, TaskRun.task_id) < tuple_(*after))
    return list(db.session.scalars(query.limit(limit)))


def related(run: TaskRun, limit: int = 200) -> dict[str, list[TaskRun]]:
    """The runs this one started, the members of its group, and its reruns."""

    def runs(*conditions) -> list[TaskRun]:
        query = select(TaskRun).where(*conditions, TaskRun.task_id != run.task_id)
        return list(db.session.scalars(query.order_by(TaskRun.seen_at).limit(limit)))

    return {
        "children": runs(TaskRun.parent_id == run.task_id),
        "group": runs(TaskRun.group_id == run.group_id) if run.group_id else [],
        "reruns": runs(TaskRun.retry_of == run.task_id),
    }


def prune(days: int, max_rows: int, now: datetime | None = None) -> int:
    """Delete runs older than ``days``, then the oldest beyond ``max_rows``.
    In batches: a long delete would hold the writers up."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    overflow = db.session.scalar(
        select(TaskRun.seen_at).order_by(TaskRun.seen_at.desc()).offset(max_rows).limit(1)
    )
    if overflow is not None:
        cutoff = max(cutoff, overflow + timedelta(microseconds=1))
    deleted = 0
    while True:
        ids = list(db.session.scalars(
            select(TaskRun.task_id).where(TaskRun.seen_at < cutoff).limit(PRUNE_BATCH)
        ))  # fmt: skip
        if not ids:
            break
        db.session.execute(delete(TaskRun).where(TaskRun.task_id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
    return deleted
