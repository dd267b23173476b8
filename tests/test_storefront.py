"""The shopper's pages as HTML: my orders, sale cards, error pages, times,
money and the two languages (the browser tests look at them in Chromium)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import insert

from blueprints.core import i18n
from exts import db
from models import SeckillOrder, User
from models.types import utcnow
from tests.seckill_helpers import open_sale, session_cookie

ROOT = Path(__file__).parent.parent
CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def logged_in(app, client, email: str = "shopper@example.com") -> int:
    with app.app_context():
        user = User(email=email)
        db.session.add(user)
        db.session.commit()
        client.set_cookie("session", session_cookie(app, user.id).split("=", 1)[1])
        return user.id


def add_orders(app, user_id: int, statuses: list[str]) -> None:
    """Orders of ``user_id`` in as many sales, one per status (oldest first)."""
    sales = [open_sale(app, 5) for _ in statuses]  # one order per buyer and sale
    now = utcnow()
    rows = [
        {"activity_id": sale, "user_id": user_id, "reservation_id": f"r-{n}",
         "status": status, "amount_cents": 4900, "reserved_at": now, "created_at": now,
         "paid_at": now if status == "paid" else None,
         "cancelled_at": now if status == "cancelled" else None}
        for n, (sale, status) in enumerate(zip(sales, statuses, strict=True))
    ]  # fmt: skip
    with app.app_context():
        db.session.execute(insert(SeckillOrder), rows)
        db.session.commit()


def test_my_orders_lists_each_state_with_its_deadline_and_pages(app, client):
    assert client.get("/orders").status_code == 302  # to the login page, and back
    user_id = logged_in(app, client)
    assert "You have no orders yet." in client.get("/orders").text
    add_orders(app, user_id, ["cancelled", "paid"] + ["paid"] * 9 + ["pending_payment"])
    page = client.get("/orders").text
    assert page.count('data-testid="order"') == 10
    assert 'data-status="pending_payment"' in page and "Waiting for payment" in page
    assert "Pay ¥49.00" in page and "or it is cancelled" in page
    assert "Page 1 of 2" in page and "Older" in page  # newest first
    second = client.get("/orders?page=2").text
    assert second.count('data-testid="order"') == 2 and "Cancelled" in second
    assert "Paid" in second and "Not paid in time" in second and "Newer" in second
    assert client.get("/orders?page=99").status_code == 200  # past the end: an empty page


def test_a_reservation_whose_order_is_not_written_shows_as_being_written(app, client, app_redis):
    user_id = logged_in(app, client)
    activity_id = open_sale(app, 5)
    app_redis.hset(f"seckill:v1:sale:{activity_id}:buyers", str(user_id), "some-reservation")
    page = client.get("/orders").text
    assert 'data-status="being_written"' in page and "being written" in page


def test_cards_show_each_state_price_and_stock(app, client):
    upcoming = open_sale(app, 10, starts_in=600, image_url="/static/products/watch.svg",
                         regular_price_cents=1990)  # fmt: skip
    open_sale(app, 5)
    ended = open_sale(app, 5, starts_in=-7200, lasts=3600)
    page = client.get("/sales").text
    states = re.findall(r'data-state="(\w+)"', page)
    assert sorted(states) == ["ended", "open", "upcoming"]
    assert states[-1] == "ended"  # open first, ended last
    assert "/static/products/watch.svg" in page and "¥19.90" in page and "<s " in page
    assert "10 of 10 left" in page
    assert f'/seckill/{upcoming}"' in page and f'/seckill/{ended}"' in page
    assert client.get("/").text.count('data-testid="sale-card"') == 3


def test_times_carry_their_zone_in_both_languages(app):
    moment = utcnow().replace(year=2026, month=12, day=2, hour=4, minute=43)
    with app.test_request_context():
        assert i18n.shop_time(moment) == "Dec 2, 2026, 12:43 China Standard Time (UTC+8)"
        span = i18n.shop_span(moment, moment + timedelta(hours=1))
        assert span == "Dec 2, 2026, 12:43–13:43 China Standard Time (UTC+8)"
        assert i18n.money(4900) == "¥49.00" and i18n.money(123456789) == "¥1,234,567.89"
    with app.test_request_context(headers=CHINESE):
        assert i18n.shop_time(moment) == "2026年12月2日 12:43 中国标准时间 (UTC+8)"


def test_error_pages_use_the_layout_and_the_api_keeps_json(app, client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and 'data-testid="error-page"' in missing.text
    assert "Back to the shop" in missing.text and "<nav" in missing.text
    assert "找不到这个页面" in client.get("/no-such-page", headers=CHINESE).text
    assert client.get("/seckill/999999").status_code == 404
    not_allowed = client.post("/sales")
    assert not_allowed.status_code == 405 and 'data-testid="error-page"' in not_allowed.text
    logged_in(app, client)
    forbidden = client.get("/admin/sales")
    assert forbidden.status_code == 403 and "for administrators" in forbidden.text
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.json["error"]["code"] == "not_found"
    assert client.get("/favicon.ico").status_code == 301


def test_a_crash_gets_the_error_page_not_a_stack(app, client, monkeypatch):
    def crash():
        raise RuntimeError("a bug")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    monkeypatch.setitem(app.view_functions, "seckill.sales_page", crash)
    page = client.get("/sales")
    assert page.status_code == 500 and 'data-testid="error-page"' in page.text
    assert "Something went wrong on our side" in page.text and "a bug" not in page.text


def test_the_language_follows_the_browser_then_the_switch(app, client):
    assert 'lang="zh-Hans"' in client.get("/", headers=CHINESE).text
    french = client.get("/", headers={"Accept-Language": "fr"})
    assert 'lang="en"' in french.text and "Accept-Language" in french.headers["Vary"]
    user_id = logged_in(app, client)
    home = client.get("/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home)[1]
    switched = client.post("/language", data={"lang": "zh_Hans", "next": "/sales",
                                                "csrf_token": token})  # fmt: skip
    assert switched.status_code == 302 and switched.headers["Location"] == "/sales"
    assert "限时抢购" in client.get("/sales").text  # the cookie beats Accept-Language
    with app.app_context():
        assert db.session.get(User, user_id).locale == "zh_Hans"  # later mails speak it
    stale = client.post("/language", data={"lang": "en", "csrf_token": "old"})
    assert stale.status_code == 400 and "表单已过期" in stale.text  # in the page's language
    evil = client.post("/language", data={"lang": "en", "next": "//evil.example",
                                          "csrf_token": token})  # fmt: skip
    assert evil.headers["Location"] == "/"


def test_api_messages_speak_the_page_s_language(client):
    answer = client.post("/api/login", json={"target": "a@example.com", "code": "12"},
                         headers=CHINESE)  # fmt: skip
    assert answer.status_code == 400
    assert answer.json["error"]["message"] == "请输入消息中的 6 位验证码。"


def test_the_pages_scripts_get_their_messages_in_the_page_s_language(client):
    page = client.get("/login", headers=CHINESE).text
    messages = json.loads(page.split('id="messages">', 1)[1].split("</script>", 1)[0])
    assert len(messages) > 50, "every t() of static/*.js"
    assert messages["Checking…"] == "验证中…"


def test_every_message_in_the_code_is_in_the_catalogue_and_translated():
    """Fails when a page, script, mail or SMS has words the Chinese catalogue
    lacks: run `make translations` and fill in the new msgstr."""
    with open(ROOT / "babel.cfg") as config:
        mapping = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "N_": None, "t": None, "tn": (1, 2)}  # fmt: skip
    in_code = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), mapping[0], mapping[1], keywords=keywords
        )
    }
    with open(ROOT / "translations/zh_Hans/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = read_po(po)
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalogue
        if message.id and message.string and all(message.string) and not message.fuzzy
    }
    assert len(in_code) > 150
    assert in_code - translated == set()


def test_a_sale_s_picture_description_and_regular_price_are_checked(admin):
    base = {"title": "Watch", "product": "Smart watch", "price_cents": 4900, "total_stock": 5,
            "starts_at": "2099-01-01T10:00:00", "ends_at": "2099-01-01T11:00:00"}  # fmt: skip
    for fields, code in (
        ({"image_url": "javascript:alert(1)"}, "invalid_url"),
        ({"image_url": "/static/a b.png"}, "invalid_url"),
        ({"regular_price_cents": 4900}, "invalid_regular_price"),
        ({"description": "x" * 501}, "invalid_field"),
    ):
        answer = admin.post("/api/admin/sales", json={**base, **fields})
        assert answer.status_code == 400 and answer.json["error"]["code"] == code, fields
    created = admin.post("/api/admin/sales", json={
        **base, "image_url": "/static/products/watch.svg", "regular_price_cents": 9900,
        "description": "A week on one charge."})  # fmt: skip
    assert created.status_code == 201
    sale = created.json["sale"]
    assert sale["image_url"] == "/static/products/watch.svg"
    assert (sale["regular_price_cents"], sale["description"]) == (9900, "A week on one charge.")
    cleared = admin.patch(f"/api/admin/sales/{sale['id']}",
                          json={"regular_price_cents": None, "image_url": None})  # fmt: skip
    assert cleared.status_code == 200
    assert cleared.json["sale"]["regular_price_cents"] is None
    assert cleared.json["sale"]["image_url"] is None


def test_the_code_mail_speaks_the_language_of_the_page_that_asked(client, worker, mailbox):
    from email.header import decode_header, make_header

    from tests.mailbox import text_part

    asked = client.post("/api/codes", json={"channel": "email", "target": "zh@example.com"},
                        headers=CHINESE)  # fmt: skip
    assert asked.status_code == 202
    mail = mailbox.wait_for("zh@example.com")
    assert str(make_header(decode_header(mail["Subject"]))) == "你的闪购商城验证码（5 分钟内有效）"
    assert "你的闪购商城登录验证码是" in text_part(mail)
