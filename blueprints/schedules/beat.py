"""Celery beat for this product: ``celery -A tasks.celery beat`` reads its
schedule from the database, sees edits within a second, and sends only while
it holds a short lease in Redis, so a second beat can stand by for failover.

Following django-celery-beat's design: every entry keeps its last run in its
row, written before the task is sent, so a restarted beat (or the standby
taking over) neither repeats a run nor fires early; a run missed while no
beat was up is sent once. Unlike it, beat also listens for a Redis notice of
each change, and checks the table every BEAT_CHECK_SECONDS in case one is lost.
"""

from __future__ import annotations

import json
import logging
import time

from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import schedstate
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from blueprints.ops.audit import audit
from blueprints.schedules.entries import (
    IDLE_CHECK,
    counts_from,
    row_problem,
    schedule_of,
    seed_builtin,
    send_options,
)
from blueprints.schedules.lease import ChangeNotices, Lease
from exts import db
from models import PeriodicEntry
from models.types import utcnow

log = logging.getLogger(__name__)


class RowEntry(ScheduleEntry):
    """A periodic entry as beat holds it: the row's timing, and its last run."""

    def __init__(self, row: PeriodicEntry, app, default_zone: str) -> None:
        self.app = app
        self.id = row.id
        self.name = row.name
        self.task = row.task
        self.args = json.loads(row.args)
        self.kwargs = json.loads(row.kwargs)
        self.options = send_options(row)
        self.schedule = schedule_of(row, default_zone, app)
        self.last_run_at = counts_from(row)
        self.total_run_count = row.total_runs
        self.expires_at = row.expires_at
        self.problem: str | None = None  # set when its timing fails while beat runs

    def _next_instance(self, last_run_at=None):
        entry = object.__new__(type(self))  # not copy.copy: __reduce__ is ScheduleEntry's
        entry.__dict__.update(vars(self), last_run_at=last_run_at or utcnow(),
                              total_run_count=self.total_run_count + 1)  # fmt: skip
        return entry

    __next__ = next = _next_instance

    def is_due(self):
        if self.problem is not None or (
            self.expires_at is not None and utcnow() >= self.expires_at
        ):
            return schedstate(False, IDLE_CHECK)
        try:
            return self.schedule.is_due(self.last_run_at)
        except Exception as error:  # one entry's timing must never stop beat
            self.problem = f"Its next run cannot be computed: {error}"
            log.error("beat: entry %r skipped: %s", self.name, self.problem)
            return schedstate(False, IDLE_CHECK)

    def editable_fields_equal(self, other) -> bool:
        return super().editable_fields_equal(other) and self.expires_at == other.expires_at


def _report(row: PeriodicEntry, problem: str | None) -> None:
    """Show on the schedules page why beat skips the row (or that it runs
    again), and write the audit log the first time; the caller commits. The
    definition is unchanged, so changed_at stays and beat does not reload."""
    if row.problem == problem:
        return
    row.problem = problem
    if problem is not None:
        audit("schedule.skipped", f"schedule:{row.id}", name=row.name, problem=problem)


class DatabaseScheduler(Scheduler):
    """The schedule in table ``periodic_entries`` (see /admin/schedules)."""

    Entry = RowEntry

    def __init__(self, app, *args, **kwargs) -> None:
        self.flask_app = app.flask_app
        config = self.flask_app.config
        client = self.flask_app.extensions["redis"]
        self.lease = Lease(client, config["BEAT_LOCK_SECONDS"])
        self.notices = ChangeNotices(client)
        self.check_every = config["BEAT_CHECK_SECONDS"]
        self.default_zone = config["TIMEZONE"]
        self.loaded_version: tuple | None = None  # (rows, latest change) when last read
        self.stale = True  # read the rows on the next tick
        self.checked_at = 0.0
        self.unsaved: set[str] = set()  # runs sent while the database was away
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        self.data: dict[str, RowEntry] = {}  # read on the first tick this beat holds the lease

    def tick(self, *args, **kwargs) -> float:
        was_holding = self.lease.holding
        if not self.lease.hold():
            self.data, self._heap = {}, None  # the holder's runs are in the rows
            return self.lease.seconds / 3
        if not was_holding or self.stale or self._changed():
            self._load()
        self._save_runs()
        delay = super().tick(*args, **kwargs)
        self._drop_failing()
        if delay == 0:
            return 0  # sent one; another may be due as well
        wait = min(delay, self.lease.seconds / 3, self.check_every)
        if self.notices.wait(wait):
            self.stale = True
        return 0  # waited already

    def is_due(self, entry):
        state = entry.is_due()
        if state.is_due and not self.lease.confirm():
            return schedstate(False, self.lease.seconds / 3)
        return state

    def reserve(self, entry):
        """Write the run to the row before it is sent: a beat that dies right
        after sending, or the standby that follows it, knows it went."""
        new_entry = super().reserve(entry)
        self.unsaved.add(entry.name)
        self._save_runs()
        return new_entry

    def _version(self) -> tuple:
        """What changes when any row's definition does (in an app context)."""
        query = select(func.count(), func.max(PeriodicEntry.changed_at))
        return tuple(db.session.execute(query).one())

    def _changed(self) -> bool:
        if time.monotonic() - self.checked_at < self.check_every:
            return False
        self.checked_at = time.monotonic()
        try:
            with self.flask_app.app_context():
                return self._version() != self.loaded_version
        except SQLAlchemyError as error:
            log.warning("beat: database unreachable, keeping the schedule it has: %s", error)
            return False

    def _load(self) -> None:
        """Read the enabled rows; a run sent but not yet saved keeps its time."""
        try:
            with self.flask_app.app_context():
                if self.loaded_version is None:  # first read: the product's entries
                    seed_builtin(self.flask_app.config)
                version = self._version()
                rows = db.session.scalars(select(PeriodicEntry).where(PeriodicEntry.enabled))
                entries = {entry.name: entry for entry in map(self._entry, rows) if entry}
                db.session.commit()  # the problems found
        except SQLAlchemyError as error:
            log.warning("beat: database unreachable, keeping the schedule it has: %s", error)
            return
        for name in self.unsaved & set(entries):
            entry, known = entries[name], self.data[name]
            entry.last_run_at = max(entry.last_run_at, known.last_run_at)
            entry.total_run_count = max(entry.total_run_count, known.total_run_count)
        self.data, self._heap = entries, None
        self.unsaved &= set(entries)
        self.loaded_version, self.stale = version, False
        self.checked_at = time.monotonic()
        log.info("beat: %d entries loaded: %s", len(entries), ", ".join(sorted(entries)))

    def _entry(self, row: PeriodicEntry) -> RowEntry | None:
        """The row as beat runs it; None, with the reason reported, if it cannot."""
        problem = row_problem(row, self.default_zone, self.app)
        entry = None
        if problem is None:
            try:
                entry = RowEntry(row, self.app, self.default_zone)
            except Exception as error:  # row_problem should have said; never stop beat
                problem = f"It cannot be read: {error}"
        if problem is not None:
            log.error("beat: entry %r skipped: %s", row.name, problem)
        _report(row, problem)
        return entry

    def _drop_failing(self) -> None:
        """Take out, and report, the entries whose timing failed in this tick."""
        failing = [entry for entry in self.data.values() if entry.problem is not None]
        if not failing:
            return
        self._save_runs()  # what they sent before failing is kept
        for entry in failing:
            del self.data[entry.name]
            self.unsaved.discard(entry.name)
        self._heap = None
        try:
            with self.flask_app.app_context():
                for entry in failing:
                    row = db.session.get(PeriodicEntry, entry.id)
                    if row is not None:
                        _report(row, entry.problem)
                db.session.commit()
        except SQLAlchemyError as error:
            log.warning("beat: skipped entries not reported yet: %s", error)

    def _save_runs(self) -> None:
        if not self.unsaved:
            return
        try:
            with self.flask_app.app_context(), db.engine.begin() as connection:
                for name in sorted(self.unsaved):
                    entry = self.data[name]
                    connection.execute(
                        update(PeriodicEntry)
                        .where(PeriodicEntry.id == entry.id)
                        .values(last_run_at=entry.last_run_at, total_runs=entry.total_run_count)
                    )
        except SQLAlchemyError as error:
            log.warning("beat: runs of %s not saved yet: %s", ", ".join(self.unsaved), error)
            return
        self.unsaved.clear()

    def close(self) -> None:
        # Called from beat's SIGTERM handler, which may interrupt a wait for
        # notices: that connection is left to the exit, as closing it there
        # would wait on the lock the interrupted read holds.
        self._save_runs()
        self.lease.release()
        super().close()

    @property
    def info(self) -> str:
        return f"    . database schedule, lease {self.lease.seconds:g} s in Redis"
