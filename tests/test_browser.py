"""A person logs in through the page, with the code from the captured mail."""

from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from blueprints.auth.keys import OUTBOX_KICKED
from blueprints.auth.service import CodeRules, CodeStore
from exts import db
from models import User
from tests.helpers import wait_for
from tests.pages import log_in
from tests.seckill_helpers import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_login_through_the_page(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("browser@example.com")
    page.get_by_role("button", name="Send code").click()

    expect(page.locator("#send-status")).to_contain_text("Sent")
    expect(page.locator("#send")).to_be_disabled()
    expect(page.locator("#send")).to_contain_text("Resend in")

    page.get_by_label("Code").fill(mailbox.last_code_for("browser@example.com"))
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_test_id("who")).to_have_text("browser@example.com")
    expect(page.get_by_test_id("orders-link")).to_be_visible()


def test_the_page_explains_a_wrong_code_and_a_bad_address(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Enter a valid e-mail address")

    page.get_by_label("E-mail address").fill("wrong@example.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    code = mailbox.last_code_for("wrong@example.com")
    page.get_by_label("Code").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-status")).to_have_text(
        "That code is not right. You can try 4 more times."
    )
    page.get_by_label("Code").fill(code)  # the same code still works
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_have_text("wrong@example.com")


def test_the_page_shows_a_failed_send(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    mailbox.fail_next(1, "550 5.1.1 No such mailbox")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("nobody@example.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("could not send")


def test_the_page_stops_waiting_for_a_lost_send_and_offers_a_new_code(
    page, live_server, worker, mailbox, app, app_redis, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setitem(app.config, "CODE_SEND_WAIT", 3)
    quick = CodeStore(app_redis, app.config["SECRET_KEY"], CodeRules(cooldown=2))
    monkeypatch.setitem(app.extensions, "code_store", quick)
    app_redis.set(OUTBOX_KICKED, "1")  # no dispatcher: the send waits, as if its worker died

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("lost@example.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Queued for sending")
    expect(page.locator("#send-status")).to_contain_text("taking longer than it should")
    expect(page.locator("#send")).to_be_enabled()

    app_redis.delete(OUTBOX_KICKED)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    mailbox.last_code_for("lost@example.com")


def test_a_corrected_address_gets_its_own_send(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("typo@exampel.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    expect(page.locator("#send")).to_contain_text("Resend in")

    page.get_by_label("E-mail address").fill("typo@example.com")
    expect(page.locator("#send-status")).to_be_empty()
    expect(page.locator("#send")).to_have_text("Send code")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    mailbox.last_code_for("typo@example.com")


@pytest.mark.parametrize(
    "trick", ["/%5Cevil.example/landing", "/%09/evil.example/", "//evil.example"]
)
def test_a_hostile_next_lands_on_this_site(page, live_server, worker, mailbox, trick):
    from playwright.sync_api import expect

    log_in(page, live_server, mailbox, "next@example.com", next_path=trick)
    expect(page).to_have_url(f"{live_server}/")


def test_the_banner_page_refuses_a_link_to_another_host(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    log_in(page, live_server, mailbox, "admin@example.com", next_path="/admin/banners")
    page.get_by_label("Title", exact=True).fill("Hostile")
    page.get_by_label("Image URL", exact=True).fill("/\\evil.example/x.png")
    page.get_by_role("button", name="Add banner").click()
    expect(page.locator("#new-status")).to_contain_text("must not contain backslashes")


def test_the_home_page_without_banners(page, live_server):
    from playwright.sync_api import expect

    page.goto(live_server)
    expect(page.locator("#carousel")).to_have_attribute("data-state", "empty")
    expect(page.locator("#carousel")).to_be_hidden()
    expect(page.locator("h1")).to_contain_text("Flash sales")


def test_buying_in_a_flash_sale(page, live_server, worker, mailbox, app):
    from playwright.sync_api import expect

    from tests.seckill_helpers import open_sale

    activity_id = open_sale(app, 3, starts_in=6)
    log_in(page, live_server, mailbox, "buyer@example.com", next_path=f"/seckill/{activity_id}")
    expect(page.locator("#countdown")).to_contain_text("Opens in 00:0")
    expect(page.locator("#buy")).to_be_disabled()
    expect(page.get_by_test_id("stock-text")).to_have_text("3 of 3 left")

    expect(page.locator("#buy")).to_be_enabled()  # the countdown reached the start
    expect(page.locator("#countdown")).to_contain_text("Open now")
    page.get_by_role("button", name="Buy now").click()
    expect(page.locator("#buy-status")).to_contain_text("is placed. Pay to keep it.")
    expect(page.locator("#buy")).to_be_disabled()
    expect(page.get_by_test_id("stock-text")).to_have_text("2 of 3 left")

    # The buyer's other device shows the same purchase, from the server, and can pay it.
    other = page.context.browser.new_context()
    with app.app_context():
        buyer = db.session.scalars(select(User).where(User.email == "buyer@example.com")).one()
        name, value = session_cookie(app, buyer.id).split("=", 1)
    other.add_cookies([{"name": name, "value": value, "url": live_server}])
    phone = other.new_page()
    phone.goto(f"{live_server}/seckill/{activity_id}")
    expect(phone.locator("#buy-status")).to_contain_text("is placed. Pay to keep it.")
    expect(phone.locator("#buy")).to_be_disabled()
    phone.get_by_role("button", name="Pay").click()
    expect(phone.locator("#buy-status")).to_contain_text("Paid.")
    expect(phone.get_by_role("button", name="Pay")).to_be_hidden()
    other.close()

    page.reload()  # the first device sees it paid, with nothing left to pay
    expect(page.locator("#buy-status")).to_contain_text("Paid. Order #")
    expect(page.get_by_role("button", name="Pay")).to_be_hidden()
    expect(page.locator("#buy")).to_be_disabled()


def test_the_page_solves_a_proof_of_work_when_an_address_is_hot(
    page, live_server, worker, mailbox, app
):
    from playwright.sync_api import expect

    from blueprints.auth.service import code_store
    from blueprints.auth.tasks import dispatch_code_sends

    address = "hot@example.com"
    with app.app_context():  # strangers asked for codes to this address lately
        for n in range(app.config["CODE_CHALLENGE_TARGET"]):
            stranger = f"203.0.113.{n}"
            code_store().issue("email", address, "login", holder=stranger, requester=stranger)
        dispatch_code_sends.delay()
    wait_for(lambda: sum(address in m["X-Rcpt-To"] for m in mailbox.messages) == 3)
    mark = mailbox.mark()

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill(address)
    challenged = lambda response: response.url.endswith("/api/codes") and response.status == 428  # noqa: E731
    with page.expect_response(challenged):
        page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    page.get_by_label("Code").fill(mailbox.last_code_for(address, since=mark))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_have_text(address)


def test_a_shopper_asks_for_a_reminder_and_receives_it(
    page, live_server, worker, mailbox, app, celery_app
):
    from playwright.sync_api import expect

    from tests.seckill_helpers import open_sale

    sale_id = open_sale(app, 10, starts_in=240, title="Reminder sale")
    log_in(page, live_server, mailbox, "shopper@example.com", next_path=f"/seckill/{sale_id}")
    remind = page.get_by_role("button", name="Remind me")
    remind.click()
    expect(page.locator("#remind-status")).to_contain_text("We will remind you")
    expect(page.get_by_role("button", name="Cancel reminder")).to_be_visible()
    page.reload()  # the server remembers
    expect(page.get_by_role("button", name="Cancel reminder")).to_be_visible()

    mark = mailbox.mark()
    celery_app.send_task("reminders.dispatch_due")  # beat's sweep
    message = mailbox.wait_for("shopper@example.com", since=mark)
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "“Reminder sale” opens in 4 minutes"
