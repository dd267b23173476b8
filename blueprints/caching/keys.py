"""Every Redis key of the interface cache, in one place (its invalidations go
over core's local-copies channel)."""


def entry_key(name: str) -> str:
    """A cached answer: ``<fresh until>|<JSON>``."""
    return f"icache:v1:{name}"


def generation_key(name: str) -> str:
    """A token every write changes, so a rebuild that read before it stores nothing."""
    return f"icache:v1:{name}:generation"


def lock_key(name: str) -> str:
    """The one rebuild under way."""
    return f"icache:v1:{name}:lock"
