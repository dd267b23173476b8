"""The admin console in Chromium at 1280 px and 390 px: every page fits the
screen and passes axe-core, the menu collapses on a phone, and errors stand
beside the field they are about. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from exts import db
from models import PeriodicEntry, TaskRun
from tests.helpers import add_banners, builtin_entry, wait_for
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
def test_every_admin_page_fits_and_passes_axe(
    admin_page, live_server, app, celery_app, worker, width, name
):
    """Each page with rows in its tables: sales, banners, schedule entries, task runs."""
    open_sale(app, 5, title="Open sale", image_url="/static/products/keyboard.svg")
    open_sale(app, 5, starts_in=3600, title="Upcoming sale")
    add_banners(app, "Spring sale", "Summer sale")
    with app.app_context():
        for name_ in ("reconcile-sales", "prune-task-history"):
            db.session.add(PeriodicEntry(**builtin_entry(app, name_)))
        db.session.commit()
    ran = celery_app.send_task("seckill.reconcile")

    def recorded():
        with app.app_context():
            return db.session.scalar(select(TaskRun.state).where(TaskRun.task_id == ran.id))

    wait_for(lambda: recorded() == "SUCCESS", message="the run is in the history")
    admin_page.goto(f"{live_server}/admin/{name}")
    check_page(admin_page, f"admin-{name}", width)


def test_the_admin_menu_folds_on_a_phone(admin_page, live_server, width):
    from playwright.sync_api import expect

    admin_page.goto(f"{live_server}/")
    admin_page.get_by_test_id("admin-link").click()
    expect(admin_page).to_have_url(f"{live_server}/admin/sales")
    links = admin_page.get_by_role("navigation", name="Admin").get_by_role("link")
    toggle = admin_page.get_by_role("button", name="Admin menu")
    if width == "phone":
        expect(links.first).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    else:
        expect(toggle).to_be_hidden()
    expect(links).to_have_count(5)
    admin_page.get_by_role("link", name="Schedules").click()
    expect(admin_page).to_have_url(f"{live_server}/admin/schedules")
    expect(admin_page.locator("[aria-current=page]")).to_have_text("Schedules")


def test_sale_errors_stand_beside_their_fields(admin_page, live_server, app, width):
    from playwright.sync_api import expect

    open_sale(app, 5, starts_in=3600, title="Upcoming sale")
    open_sale(app, 5, title="Open sale")
    admin_page.goto(f"{live_server}/admin/sales")
    states = admin_page.get_by_test_id("sale-state")
    expect(states).to_have_count(2)
    assert sorted(states.all_inner_texts()) == ["open", "upcoming"]

    form = admin_page.locator("#new-sale")
    form.get_by_label("Title").fill("Keyboards")
    form.get_by_label("Product").fill("Mechanical keyboard")
    form.get_by_label("Price (¥)").fill("0")
    form.get_by_label("Stock").fill("10")
    form.get_by_label("Starts").fill("2099-01-01T10:00")
    form.get_by_label("Ends").fill("2099-01-01T11:00")
    form.get_by_label("Picture address").fill("/static/no-such-picture.png")
    preview = form.locator(".picture-preview")
    expect(preview).to_have_attribute("data-state", "broken")  # before anything is saved
    expect(preview).to_contain_text("does not load")
    form.get_by_role("button", name="Create sale").click()
    price = form.get_by_label("Price (¥)")
    expect(price).to_have_attribute("aria-invalid", "true")
    note = form.locator(".field-error")
    expect(note).to_have_text("The price must be between ¥0.01 and ¥1,000,000.00.")
    assert note.evaluate("(note) => note.previousElementSibling.name") == "price"
    check_page(admin_page, "admin-sales-field-error", width)

    price.fill("49")
    form.get_by_label("Picture address").fill("/static/products/keyboard.svg")
    expect(preview).to_have_attribute("data-state", "ok")
    form.get_by_label("Starts").fill("2020-01-01T10:00")  # already past: confirm first
    dialogs = []
    admin_page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    form.get_by_role("button", name="Create sale").click()
    expect(admin_page.locator("#new-status")).to_contain_text("Not created")
    assert "already past" in dialogs[0]
    form.get_by_label("Starts").fill("2099-01-01T10:00")
    form.get_by_role("button", name="Create sale").click()
    expect(admin_page.locator("#new-status")).to_contain_text("Created “Keyboards”")
    expect(form.locator(".field-error")).to_have_count(0)
    expect(states).to_have_count(3)


def test_banner_errors_stand_beside_their_fields(admin_page, live_server, app, width):
    from playwright.sync_api import expect

    add_banners(app, "Spring sale", is_show=False)
    admin_page.goto(f"{live_server}/admin/banners")
    row = admin_page.get_by_test_id("banner-row").first
    expect(row).to_contain_text("hidden")
    expect(row.get_by_role("button", name="Save")).to_be_enabled()
    image = row.get_by_label("Image URL of banner", exact=False)
    image.fill("/static/a picture.png")
    row.get_by_role("button", name="Save").click()
    expect(image).to_have_attribute("aria-invalid", "true")
    expect(row.locator(".field-error")).to_have_text(
        "The picture address must not contain spaces: write %20 for one."
    )
    check_page(admin_page, "admin-banners-field-error", width)


def test_compute_shows_a_report_and_mail_it_asks_first(
    admin_page, live_server, worker, mailbox, width
):
    from playwright.sync_api import expect

    admin_page.goto(f"{live_server}/admin/reports")
    mark = mailbox.mark()
    admin_page.get_by_role("button", name="Compute").click()
    report = admin_page.get_by_test_id("report")
    expect(report).to_contain_text("Not mailed.")
    assert mailbox.mark() == mark, "computing mails no one"

    admin_page.once("dialog", lambda dialog: dialog.dismiss())  # a second thought
    report.get_by_role("button", name="Mail it").click()
    expect(report).to_contain_text("Not mailed.")
    admin_page.once("dialog", lambda dialog: dialog.accept())
    report.get_by_role("button", name="Mail it").click()
    expect(admin_page.locator("#report-status")).to_contain_text("on its way to 1 admin")
    mailbox.wait_for("admin@example.com", since=mark)
    expect(report).to_contain_text("Mailed to 1 admin.")
    check_page(admin_page, "admin-report-mailed", width)
