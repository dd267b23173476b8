"""Banners: validation, the cached visible list, and writes that invalidate it."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.api import ApiError, field_error, string_field, url_field
from blueprints.caching import InterfaceCache, invalidate_after_commit
from blueprints.ops.audit import audit
from exts import db
from models import Banner

FIELDS = ("title", "image_url", "link_url", "position", "is_show")
MAX_POSITION = 1_000_000


def visible_banners(session: Session) -> dict[str, Any]:
    """What `GET /api/banners` answers: shown, not deleted, in position order."""
    rows = session.scalars(
        select(Banner)
        .where(Banner.is_deleted.is_(False), Banner.is_show.is_(True))
        .order_by(Banner.position, Banner.id)
        .limit(current_app.config["BANNER_COUNT"])
    )
    return {"banners": [banner.to_json() for banner in rows]}


banner_cache = InterfaceCache("banners", visible_banners).register()


def clean(body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """The banner fields in ``body``, checked; all required unless ``partial``."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(400, "unknown_field", f"Unknown field: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    if not partial or "title" in body:
        values["title"] = string_field(body, "title", max_length=100)
    if not partial or "image_url" in body:
        values["image_url"] = url_field(body, "image_url", required=True)
    if "link_url" in body:
        values["link_url"] = url_field(body, "link_url", required=False)
    if "position" in body:
        position = body["position"]
        bad = isinstance(position, bool) or not isinstance(position, int)
        if bad or not 0 <= position <= MAX_POSITION:
            raise field_error("position", f"must be a whole number from 0 to {MAX_POSITION:,}.")
        values["position"] = position
    if "is_show" in body:
        if not isinstance(body["is_show"], bool):
            raise field_error("is_show", "must be true or false.")
        values["is_show"] = body["is_show"]
    return values


def live_banners() -> list[Banner]:
    """Every banner not deleted, hidden ones included, for the admin."""
    query = select(Banner).where(Banner.is_deleted.is_(False)).order_by(Banner.position, Banner.id)
    return list(db.session.scalars(query))


def get_banner(banner_id: int) -> Banner:
    banner = db.session.get(Banner, banner_id)
    if banner is None or banner.is_deleted:
        raise ApiError(404, "not_found", "No such banner.")
    return banner


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


def reorder_banners(ids: Any) -> list[Banner]:
    """Positions 0, 1, 2... in the order of ``ids``, which lists every live banner once."""
    banners = live_banners()
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        or sorted(ids) != sorted(banner.id for banner in banners)
    ):
        raise ApiError(400, "invalid_order", "'ids' must list every banner's id exactly once.")
    by_id = {banner.id: banner for banner in banners}
    for position, banner_id in enumerate(ids):
        by_id[banner_id].position = position
    audit("banner.reorder", "banners", ids=ids)
    _commit()
    return live_banners()


def _commit() -> None:
    db.session.commit()
    invalidate_after_commit(banner_cache)
