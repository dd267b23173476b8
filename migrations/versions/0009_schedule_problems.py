"""schedule entries: why beat skips one; the product's entries from the start

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from blueprints.schedules.entries import builtin_entries
from models.types import PreciseDateTime, utcnow

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("periodic_entries", sa.Column("problem", sa.Text(), nullable=True))
    # The product's entries are there before beat first starts, so an admin
    # sees and edits them at once (beat adds any a later release brings).
    entries = sa.table(
        "periodic_entries",
        *(
            sa.column(name)
            for name in (
                "name",
                "task",
                "args",
                "kwargs",
                "kind",
                "every_seconds",
                "crontab",
                "enabled",
                "description",
                "builtin",
                "total_runs",
            )
        ),
        *(sa.column(name, PreciseDateTime()) for name in ("due_from", "created_at", "changed_at")),
    )
    existing = set(op.get_bind().scalars(sa.select(entries.c.name)))
    now = utcnow()
    rows = [
        {
            "args": "[]",
            "kwargs": "{}",
            "enabled": True,
            "builtin": True,
            "total_runs": 0,
            "due_from": now,
            "created_at": now,
            "changed_at": now,
            "every_seconds": None,
            "crontab": None,
            **values,
        }
        for values in builtin_entries(current_app.config)
        if values["name"] not in existing
    ]
    if rows:
        op.bulk_insert(entries, rows)


def downgrade():
    op.drop_column("periodic_entries", "problem")
