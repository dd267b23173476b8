"""a sale sells one unit per buyer: the per_user_limit column it never honoured goes

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("seckill_activities") as table:
        table.drop_column("per_user_limit")


def downgrade():
    with op.batch_alter_table("seckill_activities") as table:
        table.add_column(
            sa.Column("per_user_limit", sa.Integer(), nullable=False, server_default="1")
        )
