"""Column types shared by the models."""

from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import DateTime
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class AwareDateTime(TypeDecorator):
    """Stored in UTC; always read back with its zone, even from SQLite and MySQL,
    whose columns keep no zone, so times compare with ``utcnow()`` everywhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a time without a zone cannot be stored; use UTC")
        if value.tzinfo is not UTC:  # most are UTC already (utcnow): skip the conversion
            value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class PreciseDateTime(AwareDateTime):
    """AwareDateTime to the microsecond on MySQL too, whose DATETIME keeps whole
    seconds unless told otherwise: task history orders changes within a second."""

    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl)


# Shown to users in TIMEZONE.
UTCDateTime = Annotated[datetime, mapped_column(AwareDateTime())]
PreciseUTCDateTime = Annotated[datetime, mapped_column(PreciseDateTime())]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Timestamps:
    """When a row was created and last changed."""

    created_at: Mapped[UTCDateTime] = mapped_column(default=utcnow)
    updated_at: Mapped[UTCDateTime] = mapped_column(default=utcnow, onupdate=utcnow)
