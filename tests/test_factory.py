"""The factory and the Celery integration: a real worker runs in the app context."""

import os
import subprocess
import sys

import pytest
from celery import Celery, shared_task
from flask import current_app
from flask_mail import Message
from sqlalchemy import func, select

from config import ROOT
from exts import db, mail
from models import User
from tests.workers import start_worker_process, stop, worker_env


@shared_task(name="tests.context_probe", ignore_result=False)
def context_probe(address: str) -> dict:
    """What a task can reach: the app, the database session and Flask-Mail."""
    mail.send(Message("probe", recipients=[address], body="sent from a worker"))
    return {
        "app": current_app.name,
        "testing": current_app.testing,
        "users": db.session.scalar(select(func.count()).select_from(User)),
    }


def test_factory_without_overrides_is_not_testing():
    # In a fresh interpreter: extensions such as the limiter keep per-process state.
    check = (
        "from app import create_app; app = create_app(); assert not app.testing and not app.debug"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"}
    subprocess.run([sys.executable, "-c", check], check=True, env=env, cwd=ROOT)


def test_celery_is_configured_from_the_flask_config(app, celery_app):
    assert app.extensions["celery"] is celery_app
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.timezone == "Asia/Shanghai"
    assert celery_app.conf.enable_utc
    assert celery_app.conf.broker_url == app.config["CELERY"]["broker_url"]


@pytest.mark.integration
def test_a_task_in_a_real_worker_sees_app_database_and_mail(app, worker, mailbox):
    with app.app_context():
        db.session.add(User(email="someone@example.com"))
        db.session.commit()

    result = context_probe.delay("probe@example.com").get(timeout=20, disable_sync_subtasks=False)

    assert result == {"app": app.name, "testing": True, "users": 1}
    assert mailbox.wait_for("probe@example.com")["Subject"] == "probe"


@pytest.mark.integration
@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_the_worker_command_runs_tasks(app, redis_base, mailbox, pool, tmp_path):
    """`celery -A tasks.celery worker` as an operator starts it, with either pool."""
    broker = f"{redis_base}/3"  # its own queue: the in-process worker must not take the task
    env = worker_env(app, CELERY_BROKER_URL=broker)
    worker = start_worker_process(env, "--concurrency=2", "-I", "tests.test_factory", pool=pool)
    client = Celery(broker=broker, backend=env["CELERY_RESULT_BACKEND"], set_as_current=False)
    try:
        result = client.send_task("tests.context_probe", args=[f"{pool}@example.com"])
        assert result.get(timeout=60, disable_sync_subtasks=False)["app"] == app.name
        assert mailbox.wait_for(f"{pool}@example.com")["Subject"] == "probe"
    finally:
        stop(worker)
        client.backend.result_consumer.stop()  # before the test Redis goes away
        client.close()


def test_the_demo_data_loads_once_and_says_so(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Created 3 demo banners." in first.output and "Demo data is loaded." in first.output
    again = runner.invoke(args=["seed"])
    assert again.output == "The demo data is there already.\n"
