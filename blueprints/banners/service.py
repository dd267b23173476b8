"""Banners: the cached visible list, and writes that invalidate it."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.banners.schemas import MAX_POSITION, BannersSchema
from blueprints.caching import InterfaceCache, invalidate_after_commit
from blueprints.core.api import Refused
from blueprints.ops.audit import audit
from exts import db
from models import Banner


def visible_banners(session: Session) -> dict[str, Any]:
    """What `GET /api/banners` answers: shown, not deleted, in position order."""
    rows = session.scalars(
        select(Banner)
        .where(Banner.is_deleted.is_(False), Banner.is_show.is_(True))
        .order_by(Banner.position, Banner.id)
        .limit(current_app.config["BANNER_COUNT"])
    )
    return BannersSchema().dump({"banners": rows})


banner_cache = InterfaceCache("banners", visible_banners).register()


def live_banners() -> list[Banner]:
    """Every banner not deleted, hidden ones included, for the admin."""
    query = select(Banner).where(Banner.is_deleted.is_(False)).order_by(Banner.position, Banner.id)
    return list(db.session.scalars(query))


def get_banner(banner_id: int) -> Banner:
    live = select(Banner).where(Banner.id == banner_id, Banner.is_deleted.is_(False))
    return db.first_or_404(live, description="No such banner.")


def create_banner(values: dict[str, Any]) -> Banner:
    if "position" not in values:  # at the end
        live = Banner.is_deleted.is_(False)
        last = db.session.scalar(select(func.max(Banner.position)).where(live))
        values["position"] = 0 if last is None else min(last + 1, MAX_POSITION)
    banner = Banner(**values)
    db.session.add(banner)
    db.session.flush()  # its id, for the audit entry
    audit("banner.create", f"banner:{banner.id}", **values)
    _commit()
    return banner


def update_banner(banner: Banner, values: dict[str, Any]) -> Banner:
    for name, value in values.items():
        setattr(banner, name, value)
    audit("banner.update", f"banner:{banner.id}", **values)
    _commit()
    return banner


def delete_banner(banner: Banner) -> None:
    banner.is_deleted = True
    audit("banner.delete", f"banner:{banner.id}")
    _commit()


def reorder_banners(ids: list[int]) -> list[Banner]:
    """Positions 0, 1, 2... in the order of ``ids``, which lists every live banner once."""
    banners = live_banners()
    if sorted(ids) != sorted(banner.id for banner in banners):
        raise Refused("invalid_order", "'ids' must list every banner's id exactly once.", "ids")
    by_id = {banner.id: banner for banner in banners}
    for position, banner_id in enumerate(ids):
        by_id[banner_id].position = position
    audit("banner.reorder", "banners", ids=ids)
    _commit()
    return live_banners()


def _commit() -> None:
    db.session.commit()
    invalidate_after_commit(banner_cache)
