"""Pages that belong to no single feature, and operator commands."""

from datetime import timedelta
from typing import Any

import click
from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import select

from blueprints.seckill.pages import sale_cards
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

DEMO_SALES: list[dict[str, Any]] = [
    {"title": "Keyboard flash sale", "product": "Mechanical keyboard, 87 keys",
     "description": "Hot-swappable switches, white backlight, USB-C.",
     "image_url": "/static/products/keyboard.svg", "price_cents": 9900,
     "regular_price_cents": 12900, "stock": 100, "opens_in_minutes": 3},
    {"title": "Headphones at half price", "product": "Noise-cancelling headphones",
     "description": "30 hours of battery, folds flat into its case.",
     "image_url": "/static/products/headphones.svg", "price_cents": 29900,
     "regular_price_cents": 59900, "stock": 50, "opens_in_minutes": -10},
    {"title": "Smart watch", "product": "Smart watch with heart-rate sensor",
     "description": "Water-resistant to 50 m; a week on one charge.",
     "image_url": "/static/products/watch.svg", "price_cents": 49900,
     "regular_price_cents": None, "stock": 30, "opens_in_minutes": 120},
    {"title": "Running shoes", "product": "Lightweight running shoes",
     "description": "Breathable mesh, cushioned sole.",
     "image_url": "/static/products/sneakers.svg", "price_cents": 19900,
     "regular_price_cents": 39900, "stock": 20, "opens_in_minutes": 24 * 60},
]  # fmt: skip


@bp.get("/favicon.ico")
def favicon():
    """For clients that ask without reading the page's icon link."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/")
def home():
    return render_template("home.html", sales=sale_cards(limit=6), server_time=utcnow())


@bp.get("/healthz")
def healthz():
    """A trivial endpoint: liveness checks and the benchmarks' baseline."""
    return {"ok": True}


@bp.cli.command("seed")
def seed() -> None:
    """Load the demo data; running it again changes nothing."""
    loaded = False
    if db.session.scalars(select(User).where(User.email == DEMO_EMAIL)).first() is None:
        db.session.add(User(email=DEMO_EMAIL))
        db.session.commit()
        click.echo(f"Created the demo account {DEMO_EMAIL}.")
        loaded = True
    # Only into an empty table: banners an admin deleted stay deleted.
    if db.session.scalar(select(Banner.id).limit(1)) is None:
        for position, (title, image_url, link_url) in enumerate(DEMO_BANNERS):
            db.session.add(Banner(title=title, image_url=image_url, link_url=link_url,
                                  position=position))  # fmt: skip
        db.session.commit()
        click.echo(f"Created {len(DEMO_BANNERS)} demo banners.")
        loaded = True
    # Sales in each state, unless one is still to come.
    now = utcnow()
    if db.session.scalar(select(SeckillActivity.id).where(SeckillActivity.ends_at > now)) is None:
        for sale in DEMO_SALES:
            starts_at = now + timedelta(minutes=sale["opens_in_minutes"])
            db.session.add(SeckillActivity(
                title=sale["title"], product=sale["product"], description=sale["description"],
                image_url=sale["image_url"], price_cents=sale["price_cents"],
                regular_price_cents=sale["regular_price_cents"], total_stock=sale["stock"],
                starts_at=starts_at, ends_at=starts_at + timedelta(hours=1),
            ))  # fmt: skip
        db.session.commit()
        click.echo(f"Created {len(DEMO_SALES)} demo sales; the first opens in 3 minutes.")
        loaded = True
    click.echo("Demo data is loaded." if loaded else "The demo data is there already.")
