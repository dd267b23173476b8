from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from blueprints.api import json_body
from blueprints.auth.access import admin_api, admin_page
from blueprints.banners import service

bp = Blueprint("banners", __name__)


@bp.get("/api/banners")
def banners():
    """The banners on the home page, in order (cached).
    ---
    get:
      tags: [banners]
      responses:
        200:
          description: The visible banners
          content: {application/json: {schema: Banners}}
    """
    body, served = service.banner_cache.get()
    # no-cache: a browser must ask again, or an admin's edit would not show at once.
    headers = {"X-Cache": served, "Cache-Control": "no-cache"}
    return Response(body, mimetype="application/json", headers=headers)


@bp.get("/api/admin/banners")
@admin_api
def admin_list():
    """Every banner not deleted, hidden ones too.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The banners
          content: {application/json: {schema: Banners}}
    """
    return jsonify(banners=[banner.to_json() for banner in service.live_banners()])


@bp.post("/api/admin/banners")
@admin_api
def admin_create():
    """Add a banner; title and image_url are required.
    ---
    post:
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf: [BannerInput, {type: object, required: [title, image_url]}]
      responses:
        201:
          description: Added
          content:
            application/json:
              schema: {type: object, required: [banner], properties: {banner: Banner}}
    """
    banner = service.create_banner(service.clean(json_body(), partial=False))
    return jsonify(banner=banner.to_json()), 201


@bp.patch("/api/admin/banners/<id:banner_id>")
@admin_api
def admin_update(banner_id: int):
    """Change some of a banner's fields.
    ---
    patch:
      tags: [admin]
      requestBody:
        required: true
        content: {application/json: {schema: BannerInput}}
      responses:
        200:
          description: Changed
          content:
            application/json:
              schema: {type: object, required: [banner], properties: {banner: Banner}}
        404: NotFound
    """
    values = service.clean(json_body(), partial=True)
    banner = service.update_banner(service.get_banner(banner_id), values)
    return jsonify(banner=banner.to_json())


@bp.delete("/api/admin/banners/<id:banner_id>")
@admin_api
def admin_delete(banner_id: int):
    """Delete a banner.
    ---
    delete:
      tags: [admin]
      responses:
        204: {description: Deleted}
        404: NotFound
    """
    service.delete_banner(service.get_banner(banner_id))
    return "", 204


@bp.put("/api/admin/banners/order")
@admin_api
def admin_reorder():
    """Put the banners in this order: ``ids`` lists every banner once.
    ---
    put:
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [ids]
              properties: {ids: {type: array, items: {type: integer}}}
      responses:
        200:
          description: The banners in their new order
          content: {application/json: {schema: Banners}}
    """
    banners = service.reorder_banners(json_body().get("ids"))
    return jsonify(banners=[banner.to_json() for banner in banners])


@bp.get("/admin/banners")
@admin_page
def admin_page_banners():
    return render_template("admin/banners.html")
