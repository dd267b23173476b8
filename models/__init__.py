"""SQLAlchemy models, one module per aggregate."""

from models.banner import Banner
from models.seckill import SeckillActivity, SeckillOrder
from models.user import User

__all__ = ["Banner", "SeckillActivity", "SeckillOrder", "User"]
