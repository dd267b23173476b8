"""storefront: a sale's picture, description and regular price; a user's language

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("seckill_activities") as table:
        table.add_column(sa.Column("image_url", sa.String(500), nullable=True))
        table.add_column(sa.Column("description", sa.String(500), nullable=False, server_default=""))
        table.add_column(sa.Column("regular_price_cents", sa.Integer(), nullable=True))
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("locale", sa.String(16), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as table:
        table.drop_column("locale")
    with op.batch_alter_table("seckill_activities") as table:
        table.drop_column("regular_price_cents")
        table.drop_column("description")
        table.drop_column("image_url")
