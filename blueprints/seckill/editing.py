"""A sale's row locked for an edit, so that edits of one sale run one after another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, update

from blueprints.core.api import Refused
from blueprints.seckill import stock
from exts import db
from models import SeckillActivity


def sync_total(activity_id: int) -> int | None:
    """Bring the sale's total in Redis to the database's, as an edit would (under
    its row lock); how far it moved. For the reconciliation: Redis missed an
    edit (it was down), or holds one whose commit failed."""
    with editing(activity_id) as sale:
        return stock.set_total(sale)


@contextmanager
def editing(activity_id: int) -> Iterator[SeckillActivity]:
    """The sale, its row locked from this read until the edit commits (or rolls
    back on any error). Edits of one sale (two admins, two tabs, a retried
    request, the reconciliation) so run one after another, each on the row the
    one before wrote, and Redis is changed in the same order, before the commit."""
    # An UPDATE locks the row on PostgreSQL and MySQL, and takes SQLite's write
    # lock (it has no SELECT ... FOR UPDATE); the locking read then sees the newest row.
    db.session.execute(
        update(SeckillActivity)
        .where(SeckillActivity.id == activity_id)
        .values(total_stock=SeckillActivity.total_stock)
    )
    sale = db.session.scalar(
        select(SeckillActivity)
        .where(SeckillActivity.id == activity_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    try:
        if sale is None:
            raise Refused("not_found", "No such sale.")
        yield sale
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
