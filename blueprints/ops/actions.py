"""What an operator can do to a task: run it again, revoke it, terminate it.
Each is written to the audit log."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis as redis_lib
from celery import Celery, signals
from celery.worker import state as worker_state
from flask import Flask, current_app

from blueprints.core.api import Refused
from blueprints.ops import recorder
from blueprints.ops.audit import audit
from blueprints.ops.keys import REVOKED_KEY
from exts import db, redis_client
from models import TaskRun
from models.ops import FINISHED

log = logging.getLogger(__name__)

RERUNNABLE = frozenset({"FAILURE", "REVOKED", "REJECTED"})
# Revoked ids, for workers that start after the revoke (remote control reaches
# only the workers online then); kept as long as task results are.


def rerun(celery: Celery, run: TaskRun) -> str:
    """Queue a new run with the old one's arguments, linked to it; its task id."""
    if run.state not in RERUNNABLE:
        message = f"Only failed or revoked tasks run again; this one is {run.state}."
        raise Refused("not_failed", message)
    task = celery.tasks.get(run.name or "")
    if task is None:
        raise Refused("task_missing", f"No task named {run.name!r} is installed here.")
    if not run.replayable or not run.arguments:
        message = ("Its arguments held secrets, which history does not keep: start it again"
                   " the way it was started (ask for a new code, say).")  # fmt: skip
        raise Refused("not_replayable", message)
    arguments = json.loads(run.arguments)
    result = task.apply_async(arguments["args"], arguments["kwargs"],
                              headers={"retry_of": run.task_id})  # fmt: skip
    audit("task.retry", f"task:{run.task_id}", name=run.name, new_task_id=result.id)
    db.session.commit()
    return result.id


# SIGTERM in a pool child raises SystemExit in the task, so its cleanup still
# runs: Flask-Mail's QUIT waited on a slow mail server for 20 s and more, and
# the dying child then recorded FAILURE over REVOKED. SIGKILL stops the work
# at once and leaves the child nothing to write; billiard starts another.
TERMINATE_SIGNAL = "SIGKILL"
NOT_STOPPED = ("{worker} did not stop it: a solo worker cannot stop the task it is running,"
               " and a busy or lost worker does not answer. It is revoked, so it will not run"
               " again; this run ends on its own.")  # fmt: skip


def revoke(celery: Celery, run: TaskRun, terminate: bool) -> dict[str, Any]:
    """Revoke a waiting task, or terminate a running one: what was asked, and
    for a terminate whether its worker stopped it (with a warning if not)."""
    if run.state in FINISHED:
        raise Refused("finished", f"It has finished already ({run.state}).")
    if run.state == "STARTED" and not terminate:
        raise Refused("running", 'It is running: revoke with {"terminate": true} to stop it.')
    # Workers online keep revoked ids in memory (and in --statedb across
    # restarts); workers that start later read them from Redis. The one that
    # receives the task drops it and records REVOKED: so does one that gets a
    # terminated task's message again (acks are late).
    celery.control.revoke(run.task_id)
    remember_revoked(run.task_id, celery.conf.result_expires)
    action = "terminate" if terminate else "revoke"
    audit(f"task.{action}", f"task:{run.task_id}", name=run.name, state=run.state)
    db.session.commit()
    if not terminate:
        if (current := recorder.current()) is not None:
            # Waiting in a queue, it is revoked from now on, whenever a worker
            # gets to it; that worker counts it in /metrics.
            current.add(run.task_id, "REVOKED", detail="revoked by an operator", counted=False)
        return {"action": action}
    worker = run.worker or "its worker"
    stopped = _kill(celery, run.task_id, run.worker) if run.worker else False
    answer: dict[str, Any] = {"action": action, "stopped": stopped}
    if not stopped:
        answer["warning"] = NOT_STOPPED.format(worker=worker)
    return answer


def _kill(celery: Celery, task_id: str, worker: str) -> bool:
    """Ask the worker running the task to kill the child that runs it; whether
    it did. The pool kills a child that has not yet told it that it took the
    task as soon as it does."""
    replies = celery.control.revoke(
        task_id, terminate=True, signal=TERMINATE_SIGNAL, destination=[worker], reply=True,
        limit=1, timeout=current_app.config["WORKER_REPLY_TIMEOUT"],
    )  # fmt: skip
    return any(
        f"terminate: {task_id}" in str(answer.get("ok", ""))
        for reply in replies or []
        for answer in reply.values()
    )


def remember_revoked(task_id: str, keep_seconds: float) -> None:
    now = time.time()
    pipe = redis_client.pipeline(transaction=False)
    pipe.zadd(REVOKED_KEY, {task_id: now})
    pipe.zremrangebyscore(REVOKED_KEY, 0, now - keep_seconds)
    pipe.execute()


def load_revoked(app: Flask) -> None:
    """At a worker's start, before it consumes: the ids revoked lately, so it
    drops those tasks too (a revoke reached only the workers online then)."""

    @signals.worker_init.connect(weak=False)
    def load(sender=None, **_) -> None:
        keep = app.extensions["celery"].conf.result_expires
        try:
            ids = app.extensions["redis"].zrangebyscore(REVOKED_KEY, time.time() - keep, "+inf")
        except redis_lib.RedisError as error:
            log.warning("revoked tasks not loaded: %s", error)
            return
        worker_state.revoked.update(ids)
