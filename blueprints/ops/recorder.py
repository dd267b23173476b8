"""Task history: every state change of every task, written in batches.

Celery's signals fire in the process where a change happens: SENT where a task
is queued (web, beat, a worker), RECEIVED in a worker's main process, STARTED
and the outcome where the task runs (the worker itself, or a prefork child).
Each process buffers its changes and one thread writes them every
``TASK_HISTORY_FLUSH_SECONDS``: one transaction per batch, not per change, so a
task never waits on the database. Batches from several processes meet in one
upsert whose rules do not depend on which lands first: the later state wins,
a known field is not forgotten, every change joins the timeline.

A process killed outright loses its last unwritten batch (at most one flush
interval); a stopped one writes it on the way out.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import traceback as traceback_lib
from typing import Any

from celery import signals
from flask import Flask

from blueprints.core.queueing import queue_of
from blueprints.ops import metrics
from blueprints.ops.batches import Change, merge, upsert_runs
from blueprints.ops.buffer import Buffered
from blueprints.ops.redaction import recorded_arguments
from exts import db
from models.types import utcnow

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 2000
MAX_ERROR_CHARS = 2000
MAX_TRACEBACK_CHARS = 20_000
MAX_BUFFERED = 100_000  # changes kept while the database is away; older ones are dropped

# Held while a batch is written, and taken before this process forks: a pool
# child that a worker forks mid-write (billiard replaces a child that was
# killed, by Terminate say) inherits the database library's state with its
# locks held, and then finds SQLite locked for good or hangs in it.
_writing = threading.Lock()
FORK_WAIT = 5.0  # seconds a fork waits for a write in progress


class Recorder(Buffered):
    """This process's buffer of task changes and the thread that writes it."""

    thread_name = "task-history"

    def __init__(self, app: Flask) -> None:
        super().__init__(app.config["TASK_HISTORY_FLUSH_SECONDS"])
        self.app = app
        self.enabled = app.config["TASK_HISTORY_ENABLED"]
        self.buffer: list[Change] = []
        self.started_at: dict[str, float] = {}  # task id -> monotonic start, for runtime
        self.outcome: dict[str, dict[str, Any]] = {}  # error details until postrun

    def add(self, task_id: str | None, state: str, detail: str | None = None, counted: bool = True,
            **fields) -> None:  # fmt: skip
        """Buffer a change of ``task_id``; ``counted`` also counts it in /metrics."""
        if counted:
            metrics.count_task(state, fields.get("name"), fields.get("worker"),
                               fields.get("queue"), fields.get("runtime"))  # fmt: skip
        if not self.enabled or not task_id:
            return
        change = Change(task_id, state, utcnow(), fields, detail)
        with self.lock:
            self.buffer.append(change)
            if len(self.buffer) > MAX_BUFFERED:
                del self.buffer[: len(self.buffer) - MAX_BUFFERED]
        self.started()

    def flush(self) -> None:
        """Write what is buffered; on failure keep it for the next try."""
        with self.lock:
            changes, self.buffer = self.buffer, []
        if not changes:
            return
        try:
            with _writing, self.app.app_context(), db.engine.begin() as connection:
                upsert_runs(connection, merge(changes))
        except Exception:
            log.warning("task history: %d changes not written yet", len(changes), exc_info=True)
            with self.lock:
                self.buffer[:0] = changes

    def clear(self) -> None:
        self.buffer = []
        self.started_at.clear()
        self.outcome.clear()


_recorder: Recorder | None = None


def current() -> Recorder | None:
    return _recorder


def init_app(app: Flask) -> None:
    """Record this process's task changes for ``app`` (the latest app wins, as
    Celery's default app does)."""
    global _recorder
    first = _recorder is None
    _recorder = Recorder(app)
    if first:
        _connect()


def _task_of(name: str | None):
    from celery import current_app as celery_app

    return celery_app.tasks.get(name) if name else None


def _queue(delivery_info: dict | None) -> str | None:
    return queue_of((delivery_info or {}).get("routing_key"))


def _connect() -> None:
    def record(*args, **kwargs) -> None:
        if _recorder is not None:
            _recorder.add(*args, **kwargs)

    @signals.before_task_publish.connect(weak=False)
    def sent(sender=None, body=None, routing_key=None, headers=None, **_):
        headers = headers or {}
        if headers.get("retries"):  # Celery re-queueing its own retry: RETRY says it
            return
        args, kwargs = (body or ((), {}))[:2]
        arguments, replayable = recorded_arguments(_task_of(sender), args, kwargs)
        record(headers.get("id"), "SENT", name=sender, queue=queue_of(routing_key),
               arguments=arguments, replayable=replayable, parent_id=headers.get("parent_id"),
               root_id=headers.get("root_id"), group_id=headers.get("group"),
               periodic_entry=headers.get("periodic_task_name"),
               retry_of=headers.get("retry_of"))  # fmt: skip

    @signals.task_received.connect(weak=False)
    def received(sender=None, request=None, **_):
        arguments, replayable = recorded_arguments(_task_of(request.name), request.args,
                                                   request.kwargs)  # fmt: skip
        record(request.id, "RECEIVED", name=request.name, worker=request.hostname,
               queue=_queue(request.delivery_info), arguments=arguments, replayable=replayable,
               parent_id=request.parent_id, root_id=request.root_id, group_id=request.group,
               retry_of=request.request_dict.get("retry_of"))  # fmt: skip

    @signals.task_prerun.connect(weak=False)
    def started(sender=None, task_id=None, task=None, **_):
        if _recorder is None:
            return
        _recorder.started_at[task_id] = time.monotonic()
        request = task.request
        record(task_id, "STARTED", name=task.name, worker=request.hostname,
               queue=_queue(request.delivery_info),
               retries=request.retries, parent_id=request.parent_id, root_id=request.root_id,
               group_id=request.group,
               periodic_entry=getattr(request, "periodic_task_name", None),
               retry_of=getattr(request, "retry_of", None))  # fmt: skip

    @signals.task_failure.connect(weak=False)
    def failed(sender=None, task_id=None, exception=None, einfo=None, **_):
        if _recorder is not None:
            _recorder.outcome[task_id] = {
                "error": _error(exception),
                "traceback": _traceback(einfo, exception),
            }

    @signals.task_retry.connect(weak=False)
    def retried(sender=None, request=None, reason=None, **_):
        if _recorder is not None and request is not None:
            _recorder.outcome[request.id] = {"error": _error(reason), "detail": _error(reason)}

    @signals.task_postrun.connect(weak=False)
    def finished(sender=None, task_id=None, task=None, retval=None, state=None, **_):
        if _recorder is None:
            return
        began = _recorder.started_at.pop(task_id, None)
        outcome = _recorder.outcome.pop(task_id, {})
        request = task.request
        values: dict[str, Any] = {
            "worker": request.hostname,
            "name": task.name,
            "queue": _queue(request.delivery_info),
        }
        if began is not None:
            values["runtime"] = round(time.monotonic() - began, 6)
        if state == "SUCCESS":
            values.update(result=_result(retval), error="", traceback="")
        elif state == "RETRY":
            values["retries"] = request.retries + 1
            values["error"] = outcome.get("error")
        else:
            values.update(error=outcome.get("error"), traceback=outcome.get("traceback"))
        detail = outcome.get("detail") or outcome.get("error")
        record(task_id, state or "FAILURE", detail=detail, **values)

    @signals.task_revoked.connect(weak=False)
    def revoked(sender=None, request=None, terminated=None, signum=None, expired=None, **_):
        if request is None:
            return
        why = "expired" if expired else f"terminated by signal {signum}" if terminated else None
        record(request.id, "REVOKED", detail=why, name=getattr(sender, "name", None),
               worker=getattr(request, "hostname", None))  # fmt: skip

    def write_now(**_) -> None:
        if _recorder is not None:
            _recorder.flush()

    signals.worker_process_shutdown.connect(write_now, weak=False)
    signals.worker_shutdown.connect(write_now, weak=False)
    atexit.register(write_now)

    held = [False]

    def wait_for_write() -> None:
        held[0] = _writing.acquire(timeout=FORK_WAIT)

    def parent_goes_on() -> None:
        if held[0]:
            _writing.release()

    def forget_parents_buffer() -> None:
        global _writing
        _writing = threading.Lock()
        if _recorder is not None:
            _recorder.after_fork()

    os.register_at_fork(before=wait_for_write, after_in_parent=parent_goes_on,
                        after_in_child=forget_parents_buffer)  # fmt: skip


def _error(exception: BaseException | Any) -> str | None:
    if exception is None:
        return None
    if isinstance(exception, BaseException):
        text = f"{type(exception).__name__}: {exception}"
    else:
        text = str(exception)
    return text[:MAX_ERROR_CHARS]


def _traceback(einfo: Any, exception: BaseException | None) -> str | None:
    text = getattr(einfo, "traceback", None)
    if text is None and isinstance(exception, BaseException):
        text = "".join(traceback_lib.format_exception(exception))
    return text[-MAX_TRACEBACK_CHARS:] if text else None


def _result(value: Any) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    if len(text) > MAX_RESULT_CHARS:
        return json.dumps({"truncated": text[:MAX_RESULT_CHARS]}, ensure_ascii=False)
    return text
