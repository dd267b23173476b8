"""Two Celery apps with the same settings, for bench_tasks: the product's, whose
tasks run inside the Flask app context (make_celery), and a bare one."""

from celery import Celery

from app import create_app

flask_app = create_app()
with_context = flask_app.extensions["celery"]
bare = Celery("bare")
bare.config_from_object(flask_app.config["CELERY"])


@with_context.task(name="bench.noop_with_context")
def noop_with_context() -> None:
    """Does nothing: what is measured is the cost around a task."""


@bare.task(name="bench.noop_bare")
def noop_bare() -> None:
    """Does nothing, without the Flask app context."""
