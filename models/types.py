"""Column types shared by the models."""

from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import DateTime
from sqlalchemy.orm import mapped_column

# Stored in UTC with its zone on every database; shown in TIMEZONE.
UTCDateTime = Annotated[datetime, mapped_column(DateTime(timezone=True))]


def utcnow() -> datetime:
    return datetime.now(UTC)
