"""SQLAlchemy models, one module per aggregate."""

from models.banner import Banner
from models.ops import AuditEntry, TaskRun
from models.seckill import SeckillActivity, SeckillOrder
from models.user import User

__all__ = [
    "AuditEntry",
    "Banner",
    "SeckillActivity",
    "SeckillOrder",
    "TaskEvent",
    "TaskRun",
    "User",
]
