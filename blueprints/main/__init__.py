"""Pages that belong to no single feature, and operator commands."""

import click
from flask import Blueprint, render_template
from sqlalchemy import select

from exts import db
from models import User

bp = Blueprint("main", __name__, cli_group=None)

DEMO_EMAIL = "demo@example.com"


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
    click.echo("Demo data is loaded.")
