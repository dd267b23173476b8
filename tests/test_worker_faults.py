"""Workers and brokers that die: nothing queued is lost.

celery/kombu 5.7.0 with the Redis broker makes a worker that holds an
unacknowledged message exit when Redis restarts ("'NoneType' object has no
attribute 'hostname'" from kombu's restore_unacked): pyproject.toml pins
below it, and the first test here tells when the pin may go.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from urllib.parse import urlsplit

import pytest

from devtools import free_port, redis_server
from tests.helpers import issue_code, wait_for
from tests.tcp_proxy import TcpProxy
from tests.workers import sender, start_worker_process, stop, worker_env

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
    client = sender(broker.url)
    try:
        # An ETA task (as a flash-sale purchase's payment timeout is): the
        # worker holds it, unacknowledged, for an hour.
        client.send_task("auth.dispatch_code_sends", countdown=3600, queue=queue)

        def holds_it():
            replies = client.control.inspect([name], timeout=1).scheduled() or {}
            return len(replies.get(name, [])) == 1

        if isinstance(broker, RedisBroker):  # RabbitMQ holds it itself (quorum queues)
            wait_for(holds_it, timeout=60, message="the worker holds the ETA message")
        broker.restart()
        time.sleep(5)  # 5.7.0 exits within 3 s
        assert worker.poll() is None, "the worker survived the restart"
        code, send = issue_code(app, "after-restart@example.com")
        client.send_task("auth.send_code_email", args=send, queue=queue)
        assert mailbox.last_code_for("after-restart@example.com", timeout=60) == code
        assert worker.poll() is None, "the worker is still running"
    finally:
        stop(worker)
        client.close()


def test_a_send_interrupted_by_a_killed_worker_is_delivered_by_the_next(app, broker, mailbox):
    queue = f"sends-{uuid.uuid4().hex[:8]}"
    # Redis hands a dead worker's messages out again after the visibility timeout.
    env = worker_env(app, CELERY_BROKER_URL=broker.url, CELERY_VISIBILITY_TIMEOUT="3")
    client = sender(broker.url)
    codes = {}
    for n in range(8):
        address = f"interrupted{n}@example.com"
        codes[address], send = issue_code(app, address)
        client.send_task("auth.send_code_email", args=send, queue=queue)
    mailbox.delay = 1.5  # a slow SMTP server: the kill lands in the middle of a send
    first = start_worker_process(env, "-Q", queue, "-n", f"doomed-{queue}@localhost")
    second = None
    try:
        wait_for(lambda: mailbox.mark() >= 2, timeout=60, message="two sends done")
        time.sleep(0.7)  # the third send has started and waits on the SMTP server
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        delivered_before = mailbox.mark()
        assert delivered_before < 8, "the kill must land in the middle of the sends"
        time.sleep(3.5)  # older than the visibility timeout when the next worker starts
        second = start_worker_process(env, "-Q", queue, "-n", f"survivor-{queue}@localhost")
        for address, code in codes.items():
            assert mailbox.last_code_for(address, timeout=60) == code
    finally:
        stop(first, second)
        client.close()
