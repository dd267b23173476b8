"""SQLAlchemy models, one module per aggregate."""

from models.user import User

__all__ = ["User"]
