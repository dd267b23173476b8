"""Fixtures: real Redis, a real Celery worker, a real SMTP server, a live server.

Environment:
  TEST_REDIS_URL     use this Redis instead of a private embedded one
  TEST_DATABASE_URL  run against this database (PostgreSQL, MySQL) instead of SQLite
  TEST_BROKER_URL    use this broker (RabbitMQ) instead of Redis
"""

from __future__ import annotations

import atexit
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import after_task_publish, task_postrun
from celery.worker import state as worker_state
from flask_migrate import upgrade
from sqlalchemy import MetaData
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.serving import make_server

from app import create_app
from blueprints.core.local_copies import drop_all_local
from devtools import free_port, redis_server
from exts import db, snapshots
from models import PeriodicEntry, User
from tests import sample_tasks  # noqa: F401  (registered before the worker starts)
from tests.helpers import wait_for
from tests.mailbox import start_mailbox
from tests.seckill_helpers import session_cookie

APP_DB, BROKER_DB, RESULT_DB = 0, 1, 2


@pytest.fixture(scope="session")
def redis_base(tmp_path_factory) -> str:
    """redis://host:port of a Redis only this test run uses."""
    if os.environ.get("TEST_REDIS_URL"):
        url = urlsplit(os.environ["TEST_REDIS_URL"])
        yield f"{url.scheme}://{url.netloc}"
        return
    port = free_port()
    process = redis_server.start(port, tmp_path_factory.mktemp("redis"))
    # Stopped at exit, not at teardown: result listeners that Celery keeps in
    # the worker's threads would otherwise spend their reconnect retries on it.
    atexit.register(process.terminate)
    yield f"redis://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def mail_server():
    controller, mailbox = start_mailbox(free_port())
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(mail_server):
    _, box = mail_server
    box.reset()
    return box


def _database_url(tmp_path_factory) -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_schema(app) -> None:
    """Drop whatever an earlier run left, then build the schema by migration."""
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        metadata.drop_all(db.engine)
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
        # Each test starts from empty tables, the product's schedule entries
        # (written by the migrations) included: tests that need them seed them.
        db.session.execute(PeriodicEntry.__table__.delete())
        db.session.commit()


@pytest.fixture(scope="session")
def app(redis_base, mail_server, tmp_path_factory):
    controller, _ = mail_server
    broker = os.environ.get("TEST_BROKER_URL") or f"{redis_base}/{BROKER_DB}"
    app = create_app(
        {
            "TESTING": True,
            "HTTPS": False,  # the test client and the live server speak plain HTTP
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "REDIS_URL": f"{redis_base}/{APP_DB}",
            "RATELIMIT_STORAGE_URI": f"{redis_base}/{APP_DB}",
            "CACHE_REDIS_URL": f"{redis_base}/{APP_DB}",
            "MAIL_SERVER": controller.hostname,
            "MAIL_PORT": controller.port,
            "MAIL_TIMEOUT": 5,
            "ADMIN_EMAILS": ["admin@example.com"],
            "INTERFACE_CACHE_SECOND_DELETE_DELAY": 0.5,
            "CELERY": {"broker_url": broker, "result_backend": f"{redis_base}/{RESULT_DB}"},
        }
    )
    _reset_schema(app)
    return app


@pytest.fixture(scope="session")
def celery_app(app):
    celery_app = app.extensions["celery"]
    yield celery_app
    # Stop listening for results before the test Redis goes away, or the
    # listener spends its reconnect retries on a server that is gone.
    celery_app.backend.result_consumer.stop()


@pytest.fixture(scope="session")
def worker(celery_app):
    """A real Celery worker consuming from the real broker, in this process."""
    # A shared broker (RabbitMQ) keeps what earlier runs left queued: tasks for
    # databases and Redis servers that no longer exist. Start empty.
    if celery_app.conf.broker_url.startswith("amqp"):
        _drop_queues_of_older_runs(celery_app)
    celery_app.control.purge()
    INVALIDATIONS.queued.clear()  # purged: they will never run
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        INVALIDATIONS.worker = True
        yield
        INVALIDATIONS.worker = False


class Invalidations:
    """The cache invalidations this process queued, and those the worker (in
    this process) ran. A write's second delete comes
    INTERFACE_CACHE_SECOND_DELETE_DELAY after it and empties the entry, so a
    test that counts hits waits for its own, and for any an earlier test's
    writes left due."""

    def __init__(self) -> None:
        self.queued: set[str] = set()
        self.ran: set[str] = set()
        self.worker = False  # whether the worker runs (the next one purges the queue)


INVALIDATIONS = Invalidations()


@after_task_publish.connect(weak=False)
def _invalidation_queued(sender=None, headers=None, **_) -> None:
    if sender == "cache.invalidate":
        INVALIDATIONS.queued.add(headers["id"])


@task_postrun.connect(weak=False)
def _invalidation_ran(sender=None, task_id=None, state=None, **_) -> None:
    if sender is not None and sender.name == "cache.invalidate" and state != "RETRY":
        INVALIDATIONS.ran.add(task_id)


@pytest.fixture
def cache_settled():
    """Waits until every cache invalidation queued so far has run (none can
    run while no worker does: the next one purges them)."""

    def wait() -> None:
        due = set(INVALIDATIONS.queued)
        if INVALIDATIONS.worker:
            wait_for(lambda: due <= INVALIDATIONS.ran, message="queued invalidations ran")

    return wait


# The queues with fixed names that tests consume from (the rest have new names each run).
TEST_QUEUES = ("celery", "crash-test", "flower-test", "terminate", "db-restart", "several-hosts")


def _drop_queues_of_older_runs(celery_app) -> None:
    """Delete the queues (and their direct exchanges) that older runs left on a
    shared RabbitMQ: it cannot redeclare a classic queue as a quorum queue."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in TEST_QUEUES:
            channel.queue_delete(name)
            channel.exchange_delete(name)


@pytest.fixture(autouse=True)
def clean_state(request):
    """Each test starts with empty app data in Redis and the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    # A task the test started (an order drain) must not outlive it: it would
    # hold the next test's rows, whose ids SQLite reuses once tables are empty.
    deadline = time.monotonic() + 30
    while worker_state.active_requests and time.monotonic() < deadline:
        time.sleep(0.05)
    redis.Redis.from_url(app.config["REDIS_URL"]).flushdb()
    drop_all_local()
    with app.app_context():
        snapshots.clear()  # the next test reuses the sales' ids
        for attempt in range(5):
            try:
                for table in reversed(db.metadata.sorted_tables):
                    db.session.execute(table.delete())
                db.session.commit()
                break
            except (OperationalError, IntegrityError):
                # The worker may still be writing what the test started (an
                # order drain): PostgreSQL breaks a deadlock, or a row lands
                # after its table was emptied. Empty everything again.
                db.session.rollback()
                if attempt == 4:
                    raise
                time.sleep(0.5)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(app):
    """The app over real HTTP, for browsers and concurrent clients."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_redis(app) -> redis.Redis:
    return redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)


@pytest.fixture
def admin_cookie(app) -> str:
    """A live session cookie of an administrator (made directly, no mail)."""
    with app.app_context():
        admin = User(email=app.config["ADMIN_EMAILS"][0])
        db.session.add(admin)
        db.session.commit()
        return session_cookie(app, admin.id)


@pytest.fixture
def admin(client, admin_cookie):
    """``client``, logged in as an administrator."""
    client.set_cookie("session", admin_cookie.split("=", 1)[1])
    return client


@pytest.fixture
def login_as(client, mailbox, worker):
    """Log ``client`` in the way a user does: ask for a code, read the mail, send it."""

    def login(address: str):
        mark = mailbox.mark()
        response = client.post("/api/codes", json={"channel": "email", "target": address})
        assert response.status_code == 202, response.json
        code = mailbox.last_code_for(address, since=mark)
        response = client.post("/api/login", json={"target": address, "code": code})
        assert response.status_code == 200, response.json
        return response.json["user"]

    return login


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


@pytest.fixture(params=["desktop", "phone"])
def width(request) -> str:
    """Each browser test that takes it runs at 1280 px and at 390 px (tests/pages.py)."""
    return request.param
