"""The product, counting its database reads of sales in Redis (for bench_sale_page)."""

from sqlalchemy import event

from app import create_app
from exts import db, redis_client

READS = "bench:sale-reads"

app = create_app()


def _count(conn, cursor, statement, *args) -> None:
    if "FROM seckill_activities" in statement:
        redis_client.incr(READS)


with app.app_context():
    event.listen(db.engine, "before_cursor_execute", _count)
