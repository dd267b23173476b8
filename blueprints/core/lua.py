"""Lua scripts: read from the package beside the code that runs them (so an
installed wheel has them too), registered once per Redis client."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from importlib import resources
from typing import TypeVar

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

T = TypeVar("T")

_registered: weakref.WeakKeyDictionary[redis.Redis, dict[str, Script]] = weakref.WeakKeyDictionary()


def script(client: redis.Redis, package: str, name: str) -> Script:
    """``name``.lua from ``package``, registered with ``client``. Call it with
    ``keys=[...], args=[...]``; it runs by SHA (EVALSHA) and reloads itself if
    Redis lost it (a restart)."""
    scripts = _registered.setdefault(client, {})
    key = f"{package}/{name}"
    if key not in scripts:
        source = resources.files(package).joinpath(f"{name}.lua").read_text()
        scripts[key] = client.register_script(source)
    return scripts[key]


def run_then(
    client: redis.Redis, script: Script, keys: list, args: list, then: Callable[[Pipeline], T]
) -> tuple[list, T]:
    """Run ``script`` and what ``then(pipe)`` queues after it in one round
    trip: the script's replies and those of ``then``'s commands, and what
    ``then`` returned. By SHA on a plain pipeline: redis-py's Script object
    would ask SCRIPT EXISTS first on every pipeline, which halved the gate's
    rate. A server that lost its scripts (a restart, a promoted replica)
    gets the script and the round trip once more."""
    for attempt in (1, 2):
        with client.pipeline(transaction=False) as pipe:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            after = then(pipe)
            try:
                return pipe.execute(), after
            except NoScriptError:
                if attempt == 2:
                    raise
                client.script_load(script.script)
    raise AssertionError("unreachable")
