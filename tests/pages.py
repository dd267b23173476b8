"""Pages in Chromium at a desktop's and a phone's width: the browser tests'
shared checks (width, axe-core, a screenshot in tests/artifacts/)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from exts import db
from models import User
from tests.seckill_helpers import session_cookie

ARTIFACTS = Path(__file__).parent / "artifacts"  # git-ignored
WIDTHS = {"desktop": 1280, "phone": 390}


def new_page(browser, width: str, language: str = "en", cookie: str | None = None,
             base: str = ""):  # fmt: skip
    context = browser.new_context(
        viewport={"width": WIDTHS[width], "height": 900},
        locale="zh-CN" if language == "zh" else "en-US",
        extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9" if language == "zh" else "en"},
        is_mobile=width == "phone",
        has_touch=width == "phone",
    )
    if cookie:
        name, value = cookie.split("=", 1)
        context.add_cookies([{"name": name, "value": value, "url": base}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def user_cookie(app, email: str) -> str:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email)
            db.session.add(user)
            db.session.commit()
        return session_cookie(app, user.id)


def check_page(page, name: str, width: str) -> None:
    """What every page owes its users: nothing wider than the screen, no
    serious or critical axe-core violation, and a screenshot to look at."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    # Against the device's width, not innerWidth: a phone's browser widens its
    # layout viewport to fit content that overflows, which would hide it.
    overflow = page.evaluate(
        """(screen) => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > screen + 1)
            .map((e) => e.tagName + '.' + e.className)""",
        WIDTHS[width],
    )
    assert overflow == [], f"{name} at {width}: wider than the screen: {overflow[:5]}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
    violations = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert violations == [], f"{name} at {width}: {violations}"


def log_in(page, live_server, mailbox, address: str, next_path: str = "/") -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/login?next={next_path}")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_role("button", name="Send code").click()
    expect(page.locator("#send-status")).to_contain_text("Sent")
    page.get_by_label("Code").fill(mailbox.last_code_for(address))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_have_text(address)
