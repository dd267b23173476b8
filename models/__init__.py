"""SQLAlchemy models, one module per aggregate."""

from models.banner import Banner
from models.user import User

__all__ = ["Banner", "User"]
