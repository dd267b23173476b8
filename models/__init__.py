"""SQLAlchemy models, one module per aggregate."""

from models.banner import Banner
from models.ops import AuditEntry, TaskRun
from models.reminder import ReminderRun, SaleReminder
from models.report import DailyReport
from models.schedule import PeriodicEntry
from models.seckill import SeckillActivity, SeckillOrder
from models.user import User

__all__ = [
    "AuditEntry",
    "Banner",
    "DailyReport",
    "PeriodicEntry",
    "ReminderRun",
    "SaleReminder",
    "SeckillActivity",
    "SeckillOrder",
    "TaskRun",
    "User",
]
