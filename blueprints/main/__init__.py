"""Pages that belong to no single feature, and operator commands."""

import click
from flask import Blueprint, render_template
from sqlalchemy import select

from exts import db
from models import Banner, User

bp = Blueprint("main", __name__, cli_group=None)

DEMO_EMAIL = "demo@example.com"
DEMO_BANNERS = [
    ("Flash sale tonight", "/static/banners/flash-sale.svg", "/"),
    ("New arrivals", "/static/banners/new-arrivals.svg", "/"),
    ("Free delivery this week", "/static/banners/free-delivery.svg", None),
]


@bp.get("/")
def home():
    return render_template("home.html")


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
    click.echo("Demo data is loaded.")
