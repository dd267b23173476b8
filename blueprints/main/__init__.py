"""Pages that belong to no single feature, and operator commands."""

from datetime import timedelta

import click
from flask import Blueprint, render_template
from sqlalchemy import select

from exts import db
from models import Banner, SeckillActivity, User
from models.types import utcnow

bp = Blueprint("main", __name__, cli_group=None)

DEMO_EMAIL = "demo@example.com"
DEMO_BANNERS = [
    ("Flash sale tonight", "/static/banners/flash-sale.svg", "/"),
    ("New arrivals", "/static/banners/new-arrivals.svg", "/"),
    ("Free delivery this week", "/static/banners/free-delivery.svg", None),
]


@bp.get("/")
def home():
    sales = db.session.scalars(
        select(SeckillActivity)
        .where(SeckillActivity.ends_at > utcnow(), SeckillActivity.status == "active")
        .order_by(SeckillActivity.starts_at)
        .limit(5)
    )
    return render_template("home.html", sales=list(sales))


@bp.get("/healthz")
def healthz():
    """A trivial endpoint: liveness checks and the benchmarks' baseline."""
    return {"ok": True}


@bp.cli.command("seed")
def seed() -> None:
    """Load the demo data; running it again changes nothing."""
    if db.session.scalars(select(User).where(User.email == DEMO_EMAIL)).first() is None:
        db.session.add(User(email=DEMO_EMAIL))
        db.session.commit()
        click.echo(f"Created the demo account {DEMO_EMAIL}.")
    # Only into an empty table: banners an admin deleted stay deleted.
    if db.session.scalar(select(Banner.id).limit(1)) is None:
        for position, (title, image_url, link_url) in enumerate(DEMO_BANNERS):
            db.session.add(Banner(title=title, image_url=image_url, link_url=link_url,
                                  position=position))  # fmt: skip
        db.session.commit()
        click.echo(f"Created {len(DEMO_BANNERS)} demo banners.")
    # A sale that opens a few minutes from now, unless one is still to come.
    now = utcnow()
    if db.session.scalar(select(SeckillActivity.id).where(SeckillActivity.ends_at > now)) is None:
        starts_at = now + timedelta(minutes=3)
        db.session.add(SeckillActivity(
            title="Demo flash sale", product="Mechanical keyboard, 87 keys", price_cents=9900,
            total_stock=100, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
        ))  # fmt: skip
        db.session.commit()
        click.echo("Created a demo sale that opens in 3 minutes.")
    click.echo("Demo data is loaded.")
