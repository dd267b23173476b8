"""The sale admin's pages and the `flask seckill` commands."""

from __future__ import annotations

import click
from flask import Blueprint, Response, abort, render_template

from blueprints.auth.access import admin_page
from blueprints.core.fields import max_lengths
from blueprints.seckill import export, stock
from blueprints.seckill.schemas import SaleInputSchema

bp = Blueprint("seckill", __name__, cli_group="seckill")


@bp.cli.command("preload")
def preload_command() -> None:
    """Load today's sales into Redis now (what beat does at midnight)."""
    loaded = stock.preload_today()
    click.echo(f"Loaded {len(loaded)} sale(s) running today: {loaded}")


@bp.get("/admin/sales/<id:activity_id>/exports/<token>.csv")
@admin_page
def admin_export_download(activity_id: int, token: str):
    chunks = export.read_chunks(activity_id, token) if len(token) <= 64 else None
    if chunks is None:
        abort(404, "This export has expired or never existed: export the sale again.")
    disposition = f'attachment; filename="sale-{activity_id}-orders.csv"'
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(chunks, mimetype="text/csv", headers=headers)


@bp.get("/admin/sales")
@admin_page
def admin_sales_page():
    return render_template("admin/sales.html", limits=max_lengths(SaleInputSchema))
