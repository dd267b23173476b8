"""An operator's day in a real browser, logged in through the login page:
banner edits, a rerun, a CSV export, a schedule edit."""

import re

import pytest
from sqlalchemy import update

from exts import db
from models import PeriodicEntry
from tests.helpers import add_banners, wait_for
from tests.pages import ARTIFACTS, log_in
from tests.sample_tasks import broken

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_an_admin_edit_shows_on_the_home_page_at_once(
    browser, page, live_server, worker, mailbox, app
):
    from playwright.sync_api import expect

    add_banners(app, "Spring sale", "Summer sale")
    visitor = browser.new_context().new_page()
    visitor.goto(live_server)
    banners = visitor.get_by_test_id("banner")
    expect(banners.first).to_contain_text("Spring sale")  # now cached
    expect(banners).to_have_count(2)

    log_in(page, live_server, mailbox, "admin@example.com", next_path="/admin/banners")
    expect(page).to_have_url(f"{live_server}/admin/banners")
    page.get_by_label("Title of banner", exact=False).first.fill("Autumn sale")
    page.get_by_test_id("banner-row").first.get_by_role("button", name="Save").click()
    expect(page.locator("#list-status")).to_contain_text("Saved “Autumn sale”")

    page.get_by_test_id("banner-row").nth(1).get_by_role(
        "button", name="Move banner", exact=False
    ).first.click()
    expect(page.locator("#list-status")).to_contain_text("Order saved")

    visitor.reload()
    expect(banners.first).to_contain_text("Summer sale")
    expect(banners.nth(1)).to_contain_text("Autumn sale")
    visitor.context.close()


def test_an_admin_reruns_a_failed_task_from_the_dashboard(
    page, live_server, worker, mailbox, app, app_redis
):
    from playwright.sync_api import expect

    app_redis.set("tests:browser:broken", "1")
    failed = broken.delay("tests:browser:broken")
    wait_for(lambda: _state(app, failed.id) == "FAILURE", 30, "the task failed")
    app_redis.delete("tests:browser:broken")  # the cause is fixed

    log_in(page, live_server, mailbox, "admin@example.com", next_path="/admin/tasks")
    page.get_by_label("State").select_option("FAILURE")
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_test_id("task-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-state", "FAILURE")
    rows.first.get_by_test_id("task-link").click()

    detail = page.locator("#task-detail")
    expect(detail.locator("#detail-outcome")).to_contain_text("ValueError: the flag")
    expect(detail.locator("#detail-timeline li")).to_have_count(
        4
    )  # sent, received, started, failed
    detail.get_by_role("button", name="Run again").click()
    expect(page.locator("#detail-title")).to_contain_text("tests.broken · SUCCESS")
    expect(detail.locator("#detail-facts")).to_contain_text(failed.id)  # "Rerun of"
    assert app_redis.get("tests:browser:broken:ran") == "1"
    expect(page.get_by_test_id("worker-row").first).to_contain_text("online")


def test_a_csv_export_shows_its_progress_and_downloads(page, live_server, worker, mailbox, app):
    from playwright.sync_api import expect

    from tests.seckill_helpers import sale_with_orders

    sale_with_orders(app, 100_000)
    log_in(page, live_server, mailbox, "admin@example.com", next_path="/admin/sales")
    row = page.get_by_test_id("sale-row").first
    row.get_by_role("button", name="Export CSV").click()

    export = page.get_by_test_id("export").first
    bar = export.locator("progress")
    expect(bar).to_be_visible()
    link = export.get_by_test_id("export-link")
    expect(link).to_contain_text("Download 100,000 orders", timeout=60_000)
    assert bar.evaluate("bar => bar.value") == 100
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith("-orders.csv")
    with open(download.path()) as csv_file:
        assert sum(1 for _ in csv_file) == 100_001


def _state(app, task_id: str) -> str | None:
    from models import TaskRun

    with app.app_context():
        run = db.session.get(TaskRun, task_id)
        return run.state if run else None


def test_an_admin_edits_a_schedule_and_sees_its_next_run_change(
    page, live_server, worker, mailbox, app
):
    from playwright.sync_api import expect

    from blueprints.schedules.entries import seed_builtin

    with app.app_context():
        seed_builtin(app.config)
    log_in(page, live_server, mailbox, "admin@example.com", next_path="/admin/schedules")
    row = page.locator("[data-testid=entry-row][data-name=reconcile-sales]")
    expect(row).to_contain_text("every 60 s")
    row.get_by_role("button", name="Edit").click()

    form = page.locator("#entry-form")
    form.get_by_label("Kind").select_option("crontab")
    form.get_by_role("textbox", name="Crontab").fill("30 4 * * 7")  # a typo: weekdays are 0-6
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text("day of week field '7' is wrong")
    crontab = form.get_by_role("textbox", name="Crontab")
    expect(crontab).to_have_attribute("aria-invalid", "true")  # the error stands beside it
    expect(form.locator(".field-error")).to_contain_text("day of week field '7' is wrong")

    form.get_by_role("textbox", name="Crontab").fill("30 4 * * *")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#form-status")).to_contain_text("Saved “reconcile-sales”")
    expect(row).to_contain_text("30 4 * * * (Europe/Berlin)")
    # 04:30 in Berlin is 11:30 or 10:30 in Shanghai, by Berlin's daylight saving.
    expect(row.get_by_test_id("next-run")).to_contain_text(re.compile(r"1[01]:30:00"))

    row.get_by_label("Enable reconcile-sales").uncheck()
    expect(row.get_by_test_id("next-run")).to_have_text("disabled")
    row.get_by_role("button", name="Run now").click()
    expect(row.get_by_role("link", name="sent")).to_be_visible()

    with app.app_context():  # what beat writes on a row it cannot run
        db.session.execute(
            update(PeriodicEntry)
            .where(PeriodicEntry.name == "prune-task-history")
            .values(problem="The crontab '0 0 30 2 *' never runs.")
        )
        db.session.commit()
    page.reload()
    skipped = page.locator("[data-testid=entry-row][data-name=prune-task-history]")
    expect(skipped.get_by_test_id("entry-problem")).to_contain_text(
        "Beat skips this entry: The crontab '0 0 30 2 *' never runs."
    )
    expect(skipped.get_by_test_id("next-run")).to_have_text("skipped")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "schedules-problem.png"), full_page=True)
