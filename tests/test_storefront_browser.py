"""The shopper's pages in Chromium at a desktop's 1280 px and a phone's 390 px,
in English and Chinese: whole purchases through My orders, cards in each
state, error pages, the language switch, axe-core's rules, no sideways
scrolling. Screenshots of every page land in tests/artifacts/."""

from __future__ import annotations

import re

import pytest

from blueprints.seckill import failover, keys
from exts import db
from models import Banner
from tests.pages import WIDTHS, check_page, new_page, user_cookie
from tests.seckill_helpers import open_sale

# Latin words a Chinese page may show: the language's own name in the switch,
# "UTC" in zone labels, the currency's sign. Data (titles, e-mails) is Chinese
# in these tests or listed per page.
LATIN_ALLOWED = {"English", "UTC"}

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def check(page, name: str, width: str) -> None:
    check_page(page, f"shop-{name}", width)


def latin_words(page, allowed: set[str]) -> set[str]:
    """Words in Latin letters the page shows (its visible text, button names
    and labels included), beyond ``allowed``: English left untranslated."""
    text = page.evaluate(
        """() => document.body.innerText + ' '
            + [...document.querySelectorAll('[aria-label], img[alt]')]
              .map((e) => e.getAttribute('aria-label') || e.alt).join(' ')"""
    )
    words = set(re.findall(r"[A-Za-z][A-Za-z'-]+", text))
    return words - allowed - {w for a in allowed for w in re.findall(r"[A-Za-z][A-Za-z'-]+", a)}


def test_my_orders_through_purchases_paid_and_cancelled(
    browser, live_server, worker, app, width, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setitem(app.config, "SECKILL_PAY_TIMEOUT", 12)  # the window closes in the test
    paid_sale = open_sale(app, 3, title="Keyboard sale", image_url="/static/products/keyboard.svg")
    lapsed_sale = open_sale(app, 3, title="Watch sale", image_url="/static/products/watch.svg")
    email = f"orders-{width}@example.com"
    page = new_page(browser, width, cookie=user_cookie(app, email), base=live_server)

    # Buy with the keyboard alone: Tab to the button (its focus visible), Enter.
    page.goto(f"{live_server}/seckill/{paid_sale}")
    expect(page.locator("#buy")).to_be_enabled()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "buy":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.locator("#buy-status")).to_contain_text("is placed. Pay to keep it.")
    expect(page.locator("#pay-countdown")).to_contain_text("left to pay")
    expect(page.locator("#bought")).to_have_text("You bought this one (one per customer).")
    expect(page.locator("#buy")).to_be_hidden()
    check(page, "sale-bought", width)
    page.get_by_role("link", name="See my orders").click()

    order = page.get_by_test_id("order").first
    expect(order).to_have_attribute("data-status", "pending_payment")
    expect(order).to_contain_text("Keyboard sale")
    expect(order).to_contain_text("China Standard Time (UTC+8)")
    expect(order.locator("[data-role=pay-countdown]")).to_contain_text("left to pay")
    check(page, "orders-pending", width)
    order.get_by_role("button", name="Pay ¥9.90").click()
    expect(page.get_by_test_id("order").first).to_have_attribute("data-status", "paid")
    state = page.get_by_test_id("order").first.locator(".order-state").inner_text()
    assert state.count("Paid") == 1, state

    # The second order is left unpaid: its countdown runs out, the worker cancels it.
    page.goto(f"{live_server}/seckill/{lapsed_sale}")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#buy-status")).to_contain_text("is placed. Pay to keep it.")
    page.goto(f"{live_server}/orders")
    lapsed = page.get_by_test_id("order").first
    expect(lapsed).to_contain_text("Watch sale")
    expect(lapsed.locator("[data-role=pay-countdown]")).to_contain_text(
        "this order is being cancelled", timeout=20_000
    )
    expect(lapsed.get_by_role("button", name="Pay")).to_be_disabled()
    page.wait_for_timeout(3000)  # the cancellation task's turn
    page.reload()
    expect(page.get_by_test_id("order").first).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_test_id("order").nth(1)).to_have_attribute("data-status", "paid")
    check(page, "orders", width)
    page.context.close()


def test_home_cards_in_each_state(browser, live_server, app, app_redis, width):
    from playwright.sync_api import expect

    opening = open_sale(app, 5, starts_in=4, title="Opens in a moment",
                        image_url="/static/products/headphones.svg")  # fmt: skip
    open_sale(app, 8, title="Open sale", image_url="/static/products/keyboard.svg",
              regular_price_cents=1990)  # fmt: skip
    sold_out = open_sale(app, 2, title="Sold-out sale", image_url="/static/products/sneakers.svg")
    with app.app_context():
        failover.rebuild()  # as a running shop's Redis is: else the first page rebuilds
    app_redis.hset(keys.sale_key(sold_out), "stock", 0)
    open_sale(app, 5, starts_in=-7200, lasts=3600, title="Ended sale",
              image_url="/static/missing-picture.png")  # fmt: skip
    page = new_page(browser, width)
    page.goto(live_server)
    cards = page.get_by_test_id("sale-card")
    expect(cards).to_have_count(4)
    card = page.locator(f".sale-card[data-sale-id='{opening}']")
    expect(card.locator("[data-role=badge]")).to_have_text("Upcoming")
    expect(card.locator("[data-role=countdown]")).to_contain_text("Opens in 00:0")
    check(page, "home", width)
    # The countdown reaches the start: the badge turns without a reload.
    expect(card.locator("[data-role=badge]")).to_have_text("Open now", timeout=15_000)
    badges = [b.strip() for b in page.locator("[data-role=badge]").all_inner_texts()]
    assert sorted(badges) == ["Ended", "Open now", "Open now", "Sold out"]
    expect(page.locator(".sale-card", has_text="Open sale")).to_contain_text("¥19.90")
    ended = page.locator(".sale-card", has_text="Ended sale").locator("img")
    expect(ended).to_have_attribute("src", re.compile("placeholder.svg"))  # not a broken icon
    page.goto(f"{live_server}/sales")
    expect(page.get_by_test_id("sale-card")).to_have_count(4)
    check(page, "sales", width)
    page.context.close()


def test_error_pages(browser, live_server, app, width):
    from playwright.sync_api import expect

    page = new_page(browser, width)
    page.goto(f"{live_server}/no-such-page")
    expect(page.get_by_test_id("error-page")).to_contain_text("We can't find that page")
    check(page, "404", width)
    page.get_by_role("link", name="Back to the shop").click()
    expect(page).to_have_url(f"{live_server}/")
    page.context.close()
    page = new_page(browser, width, cookie=user_cookie(app, "nosy@example.com"), base=live_server)
    page.goto(f"{live_server}/admin/sales")
    expect(page.get_by_test_id("error-page")).to_contain_text("This page is for administrators.")
    check(page, "403", width)
    page.context.close()


def test_every_shopper_page_in_chinese_is_translated(browser, live_server, worker, app, width):
    from playwright.sync_api import expect

    sale = open_sale(app, 5, title="机械键盘限时抢购", product="87 键机械键盘",
                     description="热插拔轴体，白色背光。", regular_price_cents=1990,
                     image_url="/static/products/keyboard.svg")  # fmt: skip
    open_sale(app, 5, starts_in=3600, title="智能手表", product="心率智能手表",
              image_url="/static/products/watch.svg")  # fmt: skip
    email = f"zh-{width}@example.com"
    page = new_page(browser, width, language="zh")
    for name, path in (("home", "/"), ("sales", "/sales"), ("sale", f"/seckill/{sale}"),
                       ("login", "/login"), ("404", "/no-such-page")):  # fmt: skip
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        check(page, f"zh-{name}", width)
        assert latin_words(page, LATIN_ALLOWED) == set(), name
    page.context.close()

    page = new_page(browser, width, language="zh", cookie=user_cookie(app, email),
                    base=live_server)  # fmt: skip
    page.goto(f"{live_server}/seckill/{sale}")
    page.get_by_role("button", name="立即抢购").click()
    expect(page.locator("#buy-status")).to_contain_text("请支付以保留商品")
    page.get_by_role("link", name="查看我的订单").click()
    expect(page.get_by_test_id("order").first).to_contain_text("待支付")
    check(page, "zh-orders", width)
    assert latin_words(page, LATIN_ALLOWED | {email}) == set()
    page.context.close()


def test_the_language_switch_is_remembered(browser, live_server, app, width):
    from playwright.sync_api import expect

    page = new_page(browser, width)  # the browser asks for English
    page.goto(f"{live_server}/sales")
    expect(page.locator("h1")).to_have_text("Flash sales")
    page.goto(f"{live_server}/login?next=/sales")
    check(page, "login", width)
    page.get_by_role("button", name="中文").click()
    expect(page).to_have_url(f"{live_server}/login?next=/sales")
    page.goto(f"{live_server}/sales")
    expect(page.locator("h1")).to_have_text("限时抢购")
    page.goto(f"{live_server}/login")
    expect(page.get_by_role("button", name="获取验证码")).to_be_visible()
    page.get_by_role("button", name="获取验证码").click()  # a script message, translated too
    expect(page.locator("#send-status")).to_have_text("请输入你的邮箱地址。")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Send code")).to_be_visible()
    page.context.close()


def test_the_carousel_on_a_phone(browser, live_server, app, width):
    from playwright.sync_api import expect

    from tests.helpers import add_banners

    # Their pictures are /static/0.svg, 1.svg and 2.svg: none exists, so each
    # slide shows its title, which is what this checks on the third. The
    # first gets a demo picture, with its title drawn over it.
    first, *_ = add_banners(app, "Spring sale", "Summer sale", "Lost picture")
    with app.app_context():
        db.session.get(Banner, first).image_url = "/static/banners/new-arrivals.svg"
        db.session.commit()
    context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900},
                                  reduced_motion="reduce", has_touch=True)  # fmt: skip
    page = context.new_page()
    page.goto(live_server)
    slides = page.get_by_test_id("banner")
    expect(slides).to_have_count(3)
    expect(slides.first).to_be_visible()
    expect(slides.first.locator(".slide-caption")).to_have_text("Spring sale")
    caption = slides.first.locator(".slide-caption").bounding_box()
    picture = slides.first.locator("img").bounding_box()
    assert picture["y"] < caption["y"] < picture["y"] + picture["height"], "over the picture"
    check(page, "carousel-caption", width)
    # The controls sit below the picture, never over it.
    picture = slides.first.bounding_box()
    controls = page.locator("#carousel .controls").bounding_box()
    assert controls["y"] >= picture["y"] + picture["height"]
    page.wait_for_timeout(6000)  # longer than a turn: reduced motion keeps it still
    expect(slides.first).to_be_visible()

    def swipe(dx: int) -> None:
        page.evaluate(
            """(dx) => {
                const slides = document.querySelector('#carousel .slides');
                const at = (x) => new Touch({identifier: 1, target: slides, clientX: x});
                const send = (type, init) => slides.dispatchEvent(new TouchEvent(type, init));
                send('touchstart', {touches: [at(300)], bubbles: true});
                send('touchend', {changedTouches: [at(300 + dx)], bubbles: true});
            }""",
            dx,
        )

    swipe(-120)  # to the left: the next banner
    expect(slides.nth(1)).to_be_visible()
    swipe(-120)
    lost = slides.nth(2)
    expect(lost).to_be_visible()
    expect(lost.locator(".slide-fallback")).to_have_text("Lost picture")  # no broken icon
    swipe(120)
    expect(slides.nth(1)).to_be_visible()
    check(page, "carousel", width)
    context.close()


def test_a_sale_paused_after_a_failover_says_so_then_sells(
    browser, live_server, worker, app, app_redis, width
):
    """While the sales wait for their rebuild after a Redis failover (another
    process holds it here), the page says so instead of failing; once the
    rebuild can run, the next poll reopens the sale and Buy works."""
    from playwright.sync_api import expect

    sale = open_sale(app, 3, title="Sneaker sale", image_url="/static/products/sneakers.svg")
    page = new_page(browser, width, cookie=user_cookie(app, f"paused-{width}@example.com"),
                    base=live_server)  # fmt: skip
    app_redis.set(keys.FENCE, "the-old-master")  # what a promoted replica holds
    app_redis.set(keys.REBUILDING, "another-process", ex=60)
    page.goto(f"{live_server}/seckill/{sale}")
    expect(page.locator("#countdown")).to_have_text("Paused, back in a moment")
    expect(page.locator("#buy")).to_be_disabled()
    check(page, "sale-paused", width)

    app_redis.delete(keys.REBUILDING)  # that process died; its lock lapsed
    expect(page.locator("#buy")).to_be_enabled()  # the next poll rebuilt and reopened it
    expect(page.locator("#countdown")).to_contain_text("Open now")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#buy-status")).to_contain_text("is placed. Pay to keep it.")
    page.context.close()


def test_the_sale_page_when_the_time_to_pay_runs_out_before_the_worker(
    browser, live_server, app, width
):
    from datetime import timedelta

    from playwright.sync_api import expect
    from sqlalchemy import select

    from models import User
    from models.types import utcnow
    from tests.seckill_helpers import write_order

    activity_id = open_sale(app, 2, title="Lamp sale")
    email = f"late-{width}@example.com"
    cookie = user_cookie(app, email)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
    window = timedelta(seconds=app.config["SECKILL_PAY_TIMEOUT"] - 4)
    write_order(app, activity_id, user_id, created_at=utcnow() - window)  # 4 s left to pay

    page = new_page(browser, width, cookie=cookie, base=live_server)
    page.goto(f"{live_server}/seckill/{activity_id}")
    expect(page.locator("#pay")).to_be_visible()
    # No cancel task comes (none was queued): the page still says what happened.
    expect(page.locator("#buy-status")).to_have_text(
        "The time to pay is over: this order is being cancelled.", timeout=15_000
    )
    expect(page.locator("#pay")).to_be_hidden()
    check(page, "sale-pay-over", width)
    page.context.close()
