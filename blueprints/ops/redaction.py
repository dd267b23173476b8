"""What task history keeps of a task's arguments: everything, but what the task's
own rule masks.

A task names its secret parameters where it is declared::

    @shared_task(name="auth.send_code_email", redact={"sealed_code": SECRET, "target": mask})

Each value is a function of the argument that returns what may be stored.
Arguments of a task with such a rule are incomplete, so an operator cannot run
it again from history; a task this process does not know is not recorded at all.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

MAX_ARGUMENTS_CHARS = 4000


def SECRET(value: Any) -> str:  # noqa: N802  # reads as a constant where rules name it
    """Hide the value entirely."""
    return "[redacted]"


def recorded_arguments(task: Any, args: Any, kwargs: Any) -> tuple[str | None, bool]:
    """(JSON of the arguments as history may keep them, whether they are complete)."""
    if task is None:
        return None, False
    args, kwargs = list(args or ()), dict(kwargs or {})
    rules: dict[str, Callable[[Any], Any]] = getattr(task, "redact", None) or {}
    if rules:
        try:
            bound = inspect.signature(task.run).bind_partial(*args, **kwargs)
        except TypeError:  # arguments that do not fit the task: keep none of them
            return json.dumps({"unreadable": "arguments do not match the task"}), False
        for name, rule in rules.items():
            if name in bound.arguments:
                bound.arguments[name] = _apply(rule, bound.arguments[name])
        args, kwargs = list(bound.args), dict(bound.kwargs)
    text = json.dumps({"args": args, "kwargs": kwargs}, default=repr, ensure_ascii=False)
    if len(text) > MAX_ARGUMENTS_CHARS:
        return json.dumps({"truncated": text[:MAX_ARGUMENTS_CHARS]}), False
    return text, not rules


def _apply(rule: Callable[[Any], Any], value: Any) -> Any:
    """What ``rule`` keeps of ``value``; all of it hidden when the rule cannot
    read it (an int where an address goes): a task can be sent any JSON, and
    the recorder must record it, not fail."""
    try:
        return rule(value)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        return SECRET(value)
