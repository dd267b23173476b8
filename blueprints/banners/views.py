from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from blueprints.api import json_body
from blueprints.auth.access import admin_api, admin_page
from blueprints.banners import service

bp = Blueprint("banners", __name__)


@bp.get("/api/banners")
def banners():
    body, served = service.banner_cache.get()
    # no-cache: a browser must ask again, or an admin's edit would not show at once.
    headers = {"X-Cache": served, "Cache-Control": "no-cache"}
    return Response(body, mimetype="application/json", headers=headers)


@bp.get("/api/admin/banners")
@admin_api
def admin_list():
    return jsonify(banners=[banner.to_json() for banner in service.live_banners()])


@bp.post("/api/admin/banners")
@admin_api
def admin_create():
    banner = service.create_banner(service.clean(json_body(), partial=False))
    return jsonify(banner=banner.to_json()), 201


@bp.patch("/api/admin/banners/<int:banner_id>")
@admin_api
def admin_update(banner_id: int):
    values = service.clean(json_body(), partial=True)
    banner = service.update_banner(service.get_banner(banner_id), values)
    return jsonify(banner=banner.to_json())


@bp.delete("/api/admin/banners/<int:banner_id>")
@admin_api
def admin_delete(banner_id: int):
    service.delete_banner(service.get_banner(banner_id))
    return "", 204


@bp.put("/api/admin/banners/order")
@admin_api
def admin_reorder():
    banners = service.reorder_banners(json_body().get("ids"))
    return jsonify(banners=[banner.to_json() for banner in banners])


@bp.get("/admin/banners")
@admin_page
def admin_page_banners():
    return render_template("admin/banners.html")
