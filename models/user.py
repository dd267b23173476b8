from __future__ import annotations

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from exts import db
from models.types import UTCDateTime, utcnow


class User(UserMixin, db.Model):  # type: ignore[name-defined]  # db.Model is built at runtime
    """An account, created on its first successful code login."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    created_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    last_login_at: Mapped[UTCDateTime | None]
    # The language the user last chose (en, zh_Hans): what later mails and SMS speak.
    locale: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_admin(self) -> bool:
        return bool(self.email) and self.email in current_app.config["ADMIN_EMAILS"]

    @property
    def display_name(self) -> str:
        return self.email or self.phone or f"user {self.id}"
