"""task history and audit log

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# To the microsecond on MySQL too (its DATETIME keeps whole seconds by default).
MOMENT = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "task_runs",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_at", MOMENT, nullable=False),
        sa.Column("seen_at", MOMENT, nullable=False),
        sa.Column("queue", sa.String(length=200), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("arguments", sa.Text(), nullable=True),
        sa.Column("replayable", sa.Boolean(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("traceback", sa.Text(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("root_id", sa.String(length=64), nullable=True),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("periodic_entry", sa.String(length=200), nullable=True),
        sa.Column("retry_of", sa.String(length=64), nullable=True),
        sa.Column("runtime", sa.Double(), nullable=True),
        sa.Column("timeline", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_task_runs_seen", "task_runs", ["seen_at", "task_id"])
    op.create_index("ix_task_runs_state_seen", "task_runs", ["state", "seen_at", "task_id"])
    op.create_index("ix_task_runs_name_seen", "task_runs", ["name", "seen_at", "task_id"])
    # Partial where the database has them (see models/ops.py).
    for column in ("parent_id", "root_id", "group_id", "retry_of"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_task_runs_{column.removesuffix('_id')}", "task_runs", [column],
                        sqlite_where=where, postgresql_where=where)  # fmt: skip
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade():
    op.drop_table("audit_log")
    op.drop_table("task_runs")
