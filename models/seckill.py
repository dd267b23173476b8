from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import Timestamps, UTCDateTime, utcnow


class SeckillActivity(Timestamps, db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """A flash sale: ``total_stock`` units of one product, one per buyer (the
    gate and a unique order per buyer hold it), in a time window."""

    __tablename__ = "seckill_activities"
    __table_args__ = (Index("ix_seckill_activities_window", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    product: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    image_url: Mapped[str | None] = mapped_column(String(500))  # the product's picture
    price_cents: Mapped[int]
    regular_price_cents: Mapped[int | None]  # shown struck through beside the sale price
    total_stock: Mapped[int]
    starts_at: Mapped[UTCDateTime]
    ends_at: Mapped[UTCDateTime]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, closed


class SeckillOrder(db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """An order written by a worker from a reservation the gate accepted."""

    __tablename__ = "seckill_orders"
    __table_args__ = (UniqueConstraint("activity_id", "user_id", name="uq_seckill_orders_buyer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("seckill_activities.id"), index=True)
    # Indexed: a buyer's orders are looked up by user, and without it PostgreSQL
    # checks each deleted user against every order (a table scan per user).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The gate's seckill_id: a redelivered reservation finds its order instead of a second one.
    reservation_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending_payment")
    amount_cents: Mapped[int]
    reserved_at: Mapped[UTCDateTime]
    created_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    paid_at: Mapped[UTCDateTime | None]
    cancelled_at: Mapped[UTCDateTime | None]

    @property
    def pay_by(self) -> datetime | None:
        """When an unpaid order is cancelled (its unit goes back on sale)."""
        if self.status != "pending_payment":
            return None
        return self.created_at + timedelta(seconds=current_app.config["SECKILL_PAY_TIMEOUT"])
