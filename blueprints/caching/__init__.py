"""Interface caching for list endpoints, and the `flask cache` commands."""

import click
from flask import Blueprint

from blueprints.caching.interface import CACHES, InterfaceCache
from blueprints.caching.tasks import invalidate_after_commit

__all__ = ["CACHES", "InterfaceCache", "bp", "invalidate_after_commit"]

bp = Blueprint("cache", __name__, cli_group="cache")


def _selected(names: tuple[str, ...]) -> list[InterfaceCache]:
    unknown = set(names) - set(CACHES)
    if unknown:
        known = ", ".join(CACHES)
        raise click.BadParameter(f"unknown: {', '.join(sorted(unknown))}; known: {known}")
    return [CACHES[name] for name in names or sorted(CACHES)]


@bp.cli.command("warm")
@click.argument("names", nargs=-1)
def warm(names: tuple[str, ...]) -> None:
    """Rebuild caches from the database now (all, or the NAMES given)."""
    for cache in _selected(names):
        stored = cache.refresh()
        click.echo(f"{cache.name}: {'warmed' if stored else 'a write came first, not stored'}")


@bp.cli.command("clear")
@click.argument("names", nargs=-1)
def clear(names: tuple[str, ...]) -> None:
    """Empty caches (all, or the NAMES given); the next read rebuilds them."""
    for cache in _selected(names):
        cache.invalidate()
        click.echo(f"{cache.name}: cleared")
