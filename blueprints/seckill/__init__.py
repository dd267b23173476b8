"""Flash sales: the Redis gate, orders written by workers, results the browser polls."""

from blueprints.seckill import tasks  # noqa: F401  (registers the tasks)
from blueprints.seckill.views import bp

__all__ = ["bp"]
