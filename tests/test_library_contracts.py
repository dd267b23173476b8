"""The library internals the product leans on (blueprints/core/internals.py
lists them) still behave as it assumes. An upgrade that changes one fails
here, by name, rather than somewhere downstream."""

from __future__ import annotations

import hashlib
import inspect
import socket

import celery._state
import flask_mail
import flask_smorest
import marshmallow as ma
import redis

from blueprints.core.internals import skip_result_subscriptions, socket_of
from blueprints.core.redis_client import FailFast

# Of Flask-Mail 0.10's Connection.configure_host, which internals.TimedConnection copies.
FLASK_MAIL_CONFIGURE_HOST = "93cc14cfe5b7cfc65fd78422b8037a85062016dce41cd7dc7be7e636c7ffa914"


def test_celery_still_has_its_result_subscription_flag():
    skip_result_subscriptions()
    assert celery._state.task_join_will_block() is True


def test_flask_mail_opens_smtp_as_the_copy_with_a_timeout_assumes():
    source = inspect.getsource(flask_mail.Connection.configure_host)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == FLASK_MAIL_CONFIGURE_HOST, (
        "Flask-Mail's configure_host changed: bring internals.TimedConnection in line "
        "(or drop it if Flask-Mail now takes a timeout), then update the digest"
    )


def test_redis_copies_a_retry_policy_per_connection_and_failfast_stays_one():
    policy = FailFast(pause=1)
    client = redis.Redis(port=1, retry=policy)
    assert client.connection_pool.make_connection().retry is policy, "the pause is per process"


def test_a_subscriptions_socket_can_be_polled(redis_base):
    client = redis.Redis.from_url(f"{redis_base}/0")
    pubsub = client.pubsub()
    pubsub.subscribe("tests:contracts")
    try:
        assert isinstance(socket_of(pubsub), socket.socket)
    finally:
        pubsub.close()
        client.close()


def test_flask_smorest_hooks_that_the_api_layer_overrides_are_still_there():
    assert callable(flask_smorest.Api._register_error_handlers)
    assert callable(flask_smorest.Api._register_doc_blueprint)
    blueprint = flask_smorest.Blueprint("contracts", __name__)

    class Body(ma.Schema):
        name = ma.fields.String()

    @blueprint.arguments(Body)
    def view(body):
        return body

    assert isinstance(view._apidoc, dict), "openapi.Blueprint copies a view's _apidoc"
