"""A worker holding an unacknowledged message survives its broker's restart.

celery/kombu 5.7.0 with the Redis broker exits instead ("'NoneType' object has
no attribute 'hostname'" from kombu's restore_unacked): pyproject.toml pins
below it, and this test is what tells when the pin may go.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from urllib.parse import urlsplit

import pytest
from celery import Celery

from blueprints.auth.service import seal
from devtools import free_port, redis_server
from tests.helpers import wait_for
from tests.tcp_proxy import TcpProxy
from tests.workers import start_worker_process, stop, worker_env

pytestmark = pytest.mark.integration


class RedisBroker:
    """A private redis-server as the broker, killed with SIGKILL and started again."""

    def __init__(self, data_dir) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.process = redis_server.start(self.port, data_dir)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = redis_server.start(self.port, self.data_dir)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


class RabbitBroker:
    """The test RabbitMQ behind a proxy: a restart drops every client connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.proxy = TcpProxy((parts.hostname, parts.port or 5672))
        credentials = parts.netloc.rsplit("@", 1)[0]
        self.url = parts._replace(netloc=f"{credentials}@127.0.0.1:{self.proxy.port}").geturl()

    def restart(self) -> None:
        self.proxy.stop()
        time.sleep(2)
        self.proxy.start()

    def close(self) -> None:
        self.proxy.stop()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request, tmp_path):
    if request.param == "redis":
        broker = RedisBroker(tmp_path / "broker")
    else:
        url = os.environ.get("TEST_BROKER_URL", "")
        if not url.startswith("amqp"):
            pytest.skip("TEST_BROKER_URL names no RabbitMQ")
        broker = RabbitBroker(url)
    yield broker
    broker.close()


def test_a_worker_holding_an_eta_message_survives_a_broker_restart(app, broker, mailbox):
    name = f"restart-{uuid.uuid4().hex[:8]}@localhost"
    queue = f"restart-{uuid.uuid4().hex[:8]}"  # nothing else consumes or leaves messages here
    env = worker_env(app, CELERY_BROKER_URL=broker.url)
    worker = start_worker_process(env, "-Q", queue, "-n", name)
    client = Celery(broker=broker.url, set_as_current=False)
    try:
        # An ETA task (as a flash-sale purchase's payment timeout is): the
        # worker holds it, unacknowledged, for an hour.
        client.send_task("auth.dispatch_code_sends", countdown=3600, queue=queue)

        def holds_it():
            replies = client.control.inspect([name], timeout=1).scheduled() or {}
            return len(replies.get(name, [])) == 1

        wait_for(holds_it, timeout=60, message="the worker holds the ETA message")
        broker.restart()
        time.sleep(5)  # 5.7.0 exits within 3 s
        assert worker.poll() is None, "the worker survived the restart"
        address = "after-restart@example.com"
        sealed = seal(app.config["SECRET_KEY"], "424242")
        client.send_task("auth.send_code_email", args=[address, sealed, "login"], queue=queue)
        assert "424242" in str(mailbox.wait_for(address, timeout=60))
        assert worker.poll() is None, "the worker is still running"
    finally:
        stop(worker)
        client.close()
