"""Sales, buyers with logged-in sessions, and real-HTTP purchases for the flash-sale tests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import func, insert, select

from blueprints.auth import sessions
from blueprints.seckill import admin
from exts import db
from models import SeckillActivity, SeckillOrder, User
from models.types import utcnow


def open_sale(app, stock: int, starts_in: float = -60, lasts: float = 3600, **fields) -> int:
    """A sale created as an admin creates one (so it is loaded into Redis); its id."""
    now = utcnow()
    with app.app_context():
        sale, _ = admin.create(
            {
                "title": "Test sale",
                "product": "A thing",
                "price_cents": 990,
                "total_stock": stock,
                "starts_at": now + timedelta(seconds=starts_in),
                "ends_at": now + timedelta(seconds=starts_in + lasts),
                **fields,
            }
        )
        return sale.id


def make_buyers(app, count: int, prefix: str = "buyer") -> list[int]:
    with app.app_context():
        rows = [{"email": f"{prefix}{n}@example.com", "created_at": utcnow()} for n in range(count)]
        db.session.execute(insert(User), rows)
        db.session.commit()
        query = select(User.id).where(User.email.like(f"{prefix}%")).order_by(User.id)
        return list(db.session.scalars(query))


def session_cookie(app, user_id: int) -> str:
    """The cookie a login would set for ``user_id``, its session live in Redis."""
    with app.app_context():
        session_id = sessions.start(user_id)
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({"_user_id": str(user_id), "_fresh": True, "sid": session_id})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def buy(client, activity_id: int):
    return client.post(f"/api/seckill/{activity_id}", json={})


def result(client, seckill_id: str) -> dict:
    response = client.get(f"/api/seckill/result/{seckill_id}")
    assert response.status_code == 200, response.json
    return response.json


def purchase(client, activity_id: int) -> dict | None:
    response = client.get(f"/api/seckill/activities/{activity_id}/purchase")
    assert response.status_code == 200, response.json
    return response.json["purchase"]


def as_user(app, client, user_id: int):
    """The test client, logged in as ``user_id``."""
    client.set_cookie(
        app.config["SESSION_COOKIE_NAME"], session_cookie(app, user_id).split("=", 1)[1]
    )
    return client


def http(
    base: str, method: str, path: str, cookie: str | None = None, body: dict | None = None
) -> tuple[int, dict]:
    if body is None and method == "POST":
        body = {}
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def write_order(app, activity_id: int, user_id: int, created_at) -> int:
    """An order waiting for payment, as the drain writes one, made ``created_at``; its id."""
    with app.app_context():
        order = SeckillOrder(activity_id=activity_id, user_id=user_id, amount_cents=990,
                             reservation_id=f"r-{activity_id}-{user_id}", reserved_at=created_at,
                             created_at=created_at, status="pending_payment")  # fmt: skip
        db.session.add(order)
        db.session.commit()
        return order.id


def orders(app, activity_id: int) -> list[SeckillOrder]:
    with app.app_context():
        query = select(SeckillOrder).where(SeckillOrder.activity_id == activity_id)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def order_count(app, activity_id: int) -> int:
    with app.app_context():
        query = select(func.count()).where(SeckillOrder.activity_id == activity_id)
        return db.session.scalar(query) or 0


def sale_with_orders(app, count: int) -> int:
    """A sale and ``count`` orders from as many buyers, written in bulk."""
    now = utcnow()
    with app.app_context():
        sale = SeckillActivity(title="Export", product="Thing", price_cents=1999,
                               total_stock=count, starts_at=now - timedelta(hours=1),
                               ends_at=now + timedelta(hours=1))  # fmt: skip
        db.session.add(sale)
        db.session.commit()
        # No explicit ids: PostgreSQL's sequence would not know them.
        users = [{"email": f"export{n}@example.com"} for n in range(count - 1)]
        users.append({"phone": "+8613900000000"})  # a formula in a spreadsheet
        db.session.execute(insert(User), users)
        buyers = db.session.execute(
            select(User.id, User.email).where(
                User.email.like("export%") | (User.phone == "+8613900000000")
            )
        ).all()
        position = {email: n for n, email in enumerate(u.get("email") for u in users)}
        user_ids = sorted(buyers, key=lambda buyer: position[buyer.email])
        db.session.execute(insert(SeckillOrder), [
            {"activity_id": sale.id, "user_id": buyer.id, "reservation_id": f"r-{n}",
             "status": "paid" if n % 3 == 0 else "pending_payment", "amount_cents": 1999,
             "reserved_at": now, "created_at": now, "paid_at": now if n % 3 == 0 else None}
            for n, buyer in enumerate(user_ids)
        ])  # fmt: skip
        db.session.commit()
        return sale.id
