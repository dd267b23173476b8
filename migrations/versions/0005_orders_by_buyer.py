"""index orders by buyer

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_seckill_orders_user_id", "seckill_orders", ["user_id"])


def downgrade():
    op.drop_index("ix_seckill_orders_user_id", table_name="seckill_orders")
