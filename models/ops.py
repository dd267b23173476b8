"""What operators look back on: every task run with its timeline, and their own actions."""

from __future__ import annotations

import json

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import PreciseUTCDateTime, utcnow

TASK_ID_LENGTH = 64
FINISHED = frozenset({"SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"})


def _lookup_index(column: str) -> Index:
    """An index of the rows where ``column`` is set. Mostly NULL columns (a group,
    a rerun) otherwise look useless to SQLite's planner after ANALYZE, which then
    scans the table; partial, the index is small and its statistics right.
    (MySQL has no partial indexes: there it is a plain one.)"""
    where = text(f"{column} IS NOT NULL")
    name = f"ix_task_runs_{column.removesuffix('_id')}"
    return Index(name, column, sqlite_where=where, postgresql_where=where)


class TaskRun(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """One task id: what it is, where it ran, how it ended. A task that Celery
    retries keeps its id, so its retries are one row (and several events)."""

    __tablename__ = "task_runs"
    # The list is newest first, filtered by state or name: each filter has an
    # index that also gives the order, so a page reads 50 rows, not the table.
    __table_args__ = (
        Index("ix_task_runs_seen", "seen_at", "task_id"),
        Index("ix_task_runs_state_seen", "state", "seen_at", "task_id"),
        Index("ix_task_runs_name_seen", "name", "seen_at", "task_id"),
        *(_lookup_index(column) for column in ("parent_id", "root_id", "group_id", "retry_of")),
    )

    task_id: Mapped[str] = mapped_column(String(TASK_ID_LENGTH), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    state_at: Mapped[PreciseUTCDateTime]  # when ``state`` was reached: the later event wins
    seen_at: Mapped[PreciseUTCDateTime]  # first sight: sent, or else received
    queue: Mapped[str | None] = mapped_column(String(200))
    worker: Mapped[str | None] = mapped_column(String(200))
    arguments: Mapped[str | None] = mapped_column(Text)  # JSON, secrets redacted
    replayable: Mapped[bool | None]  # arguments are complete: an operator may run it again
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    retries: Mapped[int | None]
    parent_id: Mapped[str | None] = mapped_column(String(TASK_ID_LENGTH))
    root_id: Mapped[str | None] = mapped_column(String(TASK_ID_LENGTH))
    group_id: Mapped[str | None] = mapped_column(String(TASK_ID_LENGTH))
    periodic_entry: Mapped[str | None] = mapped_column(String(200))
    retry_of: Mapped[str | None] = mapped_column(String(TASK_ID_LENGTH))  # an operator's rerun
    runtime: Mapped[float | None]  # seconds, of the last attempt
    # Every state change, one JSON line each ([at, state, worker, detail]),
    # appended in the order batches arrive: read it through ``events()``.
    timeline: Mapped[str | None] = mapped_column(Text)

    def events(self) -> list[dict]:
        """The timeline, in time order."""
        lines = [json.loads(line) for line in (self.timeline or "").splitlines() if line]
        events = [{"at": at, "state": state, "worker": worker, "detail": detail}
                  for at, state, worker, detail in lines]  # fmt: skip
        return sorted(events, key=lambda event: event["at"])

    # The last attempt's: a retried task is received and started again.
    @property
    def received_at(self) -> str | None:
        return _last(self.events(), {"RECEIVED"})

    @property
    def started_at(self) -> str | None:
        return _last(self.events(), {"STARTED"})

    @property
    def finished_at(self) -> str | None:
        return _last(self.events(), FINISHED) if self.state in FINISHED else None


class AuditEntry(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """Who changed what, when: operator actions and admin edits."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[PreciseUTCDateTime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


def _last(events: list[dict], states: set[str] | frozenset[str]) -> str | None:
    """When the last event in one of ``states`` happened."""
    return next((e["at"] for e in reversed(events) if e["state"] in states), None)
