from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import Timestamps


class Banner(Timestamps, db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """A slide of the home page carousel. Deleting one only marks it deleted."""

    __tablename__ = "banners"
    __table_args__ = (Index("ix_banners_visible", "is_deleted", "is_show", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    image_url: Mapped[str] = mapped_column(String(500))
    link_url: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(default=0)
    is_show: Mapped[bool] = mapped_column(default=True)
    is_deleted: Mapped[bool] = mapped_column(default=False)
