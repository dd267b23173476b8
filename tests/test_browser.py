"""A person logs in through the page, with the code from the captured mail."""

import os
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # The page polls the task every second; a busy CI machine may need a
    # few polls before the send is done, more than expect's default 5 s.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


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
    expect(page.locator("h1")).to_contain_text("Welcome, browser@example.com")


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
    expect(page.locator("#login-status")).to_contain_text("wrong, expired or used")


def test_the_page_shows_a_failed_send(page, live_server, worker, mailbox):
    from playwright.sync_api import expect

    mailbox.fail_next(1, "550 5.1.1 No such mailbox")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail address").fill("nobody@example.com")
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("could not send")
