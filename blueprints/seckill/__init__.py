"""Flash sales: the Redis gate, orders written by workers, results the browser polls.

The life of a purchase:
1. ``gate.reserve`` runs gate.lua: window, earlier purchase, stock; then it takes a
   unit, records the buyer and appends the reservation to a Redis stream, all
   at once. Nothing else is touched: no database, no broker (the first
   reservation after a quiet spell asks for one drain task).
2. ``orders.drain`` (task ``seckill.drain_orders``) reads the stream in batches as a
   consumer group, writes the orders with one INSERT per batch that skips
   reservations already written, records each result, then acknowledges and
   deletes the entries. A drainer killed mid-batch leaves its entries pending;
   the next drain claims them and writes nothing twice.
3. ``payment.pay`` marks an order paid; ``payment.cancel_unpaid`` (a delayed task, and the
   reconciliation as a safety net) cancels it after SECKILL_PAY_TIMEOUT and
   puts its unit back on sale, once.

Modules: ``keys`` (every Redis key), ``stock`` (sales in Redis), ``gate``,
``orders``, ``payment``, ``drift``; ``tasks`` queues and runs the work they
hand back; ``catalogue`` is the sales as shoppers see them; ``admin`` the
rules an administrator's edit follows. The HTTP side: ``schemas`` (the API's
shapes), ``shop_api``, ``admin_api``, ``pages`` (the shopper's and the
administrator's pages, and the CLI).
"""

from blueprints.seckill import tasks  # noqa: F401  (registers the tasks)
from blueprints.seckill.admin_api import blp as admin_blp
from blueprints.seckill.pages import bp
from blueprints.seckill.shop_api import blp

__all__ = ["admin_blp", "blp", "bp"]
