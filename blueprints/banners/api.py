"""The banners' JSON API: the cached list shoppers see, and the admin's edits."""

from __future__ import annotations

from typing import Any

from flask import Response

from blueprints.auth.access import admin_api
from blueprints.banners import service
from blueprints.banners.schemas import (
    BannerAnswerSchema,
    BannerInputSchema,
    BannerOrderSchema,
    BannersSchema,
)
from blueprints.core.openapi import Blueprint

blp = Blueprint("banners_api", __name__, url_prefix="/api", description="Home page banners")


@blp.get("/banners")
@blp.response(200, BannersSchema, description="The visible banners, in order")
def banners():
    """The banners on the home page, in order (cached)."""
    body, served = service.banner_cache.get()
    # no-cache: a browser must ask again, or an admin's edit would not show at once.
    headers = {"X-Cache": served, "Cache-Control": "no-cache"}
    return Response(body, mimetype="application/json", headers=headers)


@blp.get("/admin/banners")
@admin_api
@blp.response(200, BannersSchema)
def admin_list():
    """Every banner not deleted, hidden ones too."""
    return {"banners": service.live_banners()}


@blp.post("/admin/banners")
@admin_api
@blp.arguments(BannerInputSchema)
@blp.response(201, BannerAnswerSchema)
def admin_create(values: dict[str, Any]):
    """Add a banner; title and image_url are required."""
    return {"banner": service.create_banner(values)}


@blp.patch("/admin/banners/<id:banner_id>")
@admin_api
@blp.arguments(BannerInputSchema(partial=True))
@blp.response(200, BannerAnswerSchema)
@blp.alt_response(404, response="NotFound")
def admin_update(values: dict[str, Any], banner_id: int):
    """Change some of a banner's fields."""
    return {"banner": service.update_banner(service.get_banner(banner_id), values)}


@blp.delete("/admin/banners/<id:banner_id>")
@admin_api
@blp.takes_no_body
@blp.response(204)
@blp.alt_response(404, response="NotFound")
def admin_delete(banner_id: int):
    """Delete a banner."""
    service.delete_banner(service.get_banner(banner_id))


@blp.put("/admin/banners/order")
@admin_api
@blp.arguments(BannerOrderSchema)
@blp.response(200, BannersSchema, description="The banners in their new order")
def admin_reorder(body: dict[str, Any]):
    """Put the banners in this order: ``ids`` lists every banner once."""
    return {"banners": service.reorder_banners(body["ids"])}
