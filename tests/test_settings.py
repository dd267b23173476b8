"""One REDIS_URL names a Sentinel deployment, and every Redis user follows it;
an amqp broker gets quorum queues and confirmed publishes."""

from __future__ import annotations

import pytest

import config
from blueprints.core import servers


def test_a_sentinel_url_reaches_every_redis_user():
    settings = config.from_env({
        "SECRET_KEY": "x", "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        "REDIS_URL": "redis+sentinel://:p%40ss@10.0.0.5:26379,10.0.0.6/shop/2",
    })  # fmt: skip
    assert servers.RedisTarget.parse(settings["REDIS_URL"]) == servers.RedisTarget(
        settings["REDIS_URL"], (("10.0.0.5", 26379), ("10.0.0.6", 26379)), "shop", 2, "p@ss"
    )
    assert (
        settings["RATELIMIT_STORAGE_URI"] == "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/shop"
    )
    limiter = settings["RATELIMIT_STORAGE_OPTIONS"]
    assert (limiter["db"], limiter["password"], limiter["use_replicas"]) == (2, "p@ss", False)
    assert limiter["sentinel_kwargs"]["password"] == "sentinel-secret"
    celery = settings["CELERY"]
    both = "sentinel://:p%40ss@10.0.0.5:26379/2;sentinel://:p%40ss@10.0.0.6:26379/2"
    assert celery["broker_url"] == celery["result_backend"] == both
    assert celery["broker_transport_options"]["master_name"] == "shop"
    assert celery["broker_transport_options"]["visibility_timeout"] == 120, "kept"
    assert celery["result_backend_transport_options"]["master_name"] == "shop"
    assert settings["REDIS_WAIT_REPLICAS"] == 1, "writes wait for a replica behind Sentinel"
    redis_cache = config.from_env({"SECRET_KEY": "x", "CACHE_TYPE": "RedisCache",
                                   "REDIS_URL": settings["REDIS_URL"]})  # fmt: skip
    assert redis_cache["CACHE_TYPE"] == "RedisSentinelCache"
    assert redis_cache["CACHE_REDIS_SENTINEL_MASTER"] == "shop"


def test_a_single_redis_stays_as_it_was():
    settings = config.from_env({"SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings["RATELIMIT_STORAGE_URI"] == settings["CELERY"]["broker_url"]
    assert settings["CELERY"]["broker_url"] == "redis://127.0.0.1:6379/0"
    assert settings["REDIS_WAIT_REPLICAS"] == 0
    assert "master_name" not in settings["CELERY"]["broker_transport_options"]


@pytest.mark.parametrize("url", ["redis+sentinel://10.0.0.5:26379", "redis+sentinel:///shop"])
def test_a_sentinel_url_without_hosts_or_master_is_refused(url):
    with pytest.raises(ValueError, match="redis\\+sentinel://host:port"):
        servers.RedisTarget.parse(url)


def test_rabbitmq_gets_quorum_queues_and_confirms():
    celery = servers.on_rabbitmq(
        {"broker_url": "amqp://guest@mq//", "broker_transport_options": {}}
    )
    assert celery["task_default_queue_type"] == celery["task_create_missing_queue_type"] == "quorum"
    assert celery["task_default_exchange_type"] == "topic"  # native delayed delivery needs it
    assert celery["broker_transport_options"]["confirm_publish"] is True
    redis_broker = {"broker_url": "redis://x/1", "broker_transport_options": {}}
    assert servers.on_rabbitmq(redis_broker) == redis_broker
