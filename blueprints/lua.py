"""Lua scripts: read from the package beside the code that runs them (so an
installed wheel has them too), registered once per Redis client."""

from __future__ import annotations

import weakref
from importlib import resources

import redis
from redis.commands.core import Script

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
