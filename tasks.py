"""The Celery factory and the worker's entry point.

celery -A tasks.celery worker --pool=solo --loglevel=info
celery -A tasks.celery beat --loglevel=info
"""

from __future__ import annotations

from functools import cache

from celery import Celery, Task
from celery.signals import worker_process_init
from flask import Flask

from blueprints.core.internals import skip_result_subscriptions
from blueprints.core.queueing import queue_of


class ShopCelery(Celery):
    flask_app: Flask  # the app every task runs in; beat and the worker's steps read it too

    def send_task(self, name, args=None, kwargs=None, countdown=None, eta=None, **options):
        # On RabbitMQ quorum queues Celery 5.6 delays natively, by whole
        # seconds, and raises ValueError for a countdown between 0 and 1
        # (kombu's calculate_routing_key): wait the whole second instead.
        if countdown is not None and 0 < countdown < 1:
            countdown = 1
        # A retry names the exchange and routing key it came by, not its
        # queue; native delayed delivery then routes it by the default
        # queue's key ("celery"), so a retry on another queue went astray.
        if options.get("queue") is None and options.get("routing_key"):
            options["queue"] = queue_of(options.pop("routing_key"))
            options.pop("exchange", None)
        return super().send_task(name, args, kwargs, countdown=countdown, eta=eta, **options)


def make_celery(app: Flask) -> Celery:
    """A Celery app configured from ``app.config["CELERY"]``: the one place
    it is built. Features add what they need to it in their ``init_app``
    (ops: the worker's heartbeat step).

    Its Task base class opens the Flask app context around every run, so tasks
    see ``current_app``, the database session and Flask-Mail; beat and the
    worker's steps reach the same app as ``celery.flask_app``.
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = ShopCelery(app.name, task_cls=FlaskTask)
    celery_app.flask_app = app
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    skip_result_subscriptions()

    @worker_process_init.connect(weak=False)
    def drop_inherited_connections(**kwargs) -> None:
        # A prefork child must not reuse the database sockets of its parent.
        from exts import db

        with app.app_context():
            db.engine.dispose(close=False)

    return celery_app


@cache
def _worker_celery() -> Celery:
    from app import create_app

    return create_app().extensions["celery"]


def __getattr__(name: str):
    # `tasks.celery` is built on first use, once: the web process imports
    # make_celery from here and must not build a second Flask app.
    if name == "celery":
        return _worker_celery()
    raise AttributeError(name)
