from __future__ import annotations

from flask import Blueprint, render_template

from blueprints.auth.access import admin_page
from blueprints.banners.schemas import BannerInputSchema
from blueprints.core.fields import max_lengths

bp = Blueprint("banners", __name__)


@bp.get("/admin/banners")
@admin_page
def admin_page_banners():
    return render_template("admin/banners.html", limits=max_lengths(BannerInputSchema))
