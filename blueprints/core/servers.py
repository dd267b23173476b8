"""Where Redis and the broker are: the forms REDIS_URL takes (one server, or
the master Sentinel names), and what each client of them needs to find it
(the rate limits, the cache, Celery), read by config.py."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from redis.backoff import NoBackoff
from redis.retry import Retry


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    host, colon, port = item.rpartition(":")
    return (host, int(port)) if colon else (item, default_port)


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: one server (``redis://host:port/db``), or the master a
    Sentinel deployment names (``redis+sentinel://[:password@]host:port,host:port/master[/db]``,
    the form `limits` reads, with the database number added)."""

    url: str
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> RedisTarget:
        if not url.startswith("redis+sentinel://"):
            return cls(url)
        parts = urlsplit(url)
        auth, _, hosts = parts.netloc.rpartition("@")
        master, _, db = parts.path.strip("/").partition("/")
        if not hosts or not master:
            raise ValueError(
                f"REDIS_URL {url!r}: expected redis+sentinel://host:port,.../master[/db]"
            )
        sentinels = tuple(_host_port(item, 26379) for item in hosts.split(","))
        password = unquote(auth.partition(":")[2]) or None
        return cls(url, sentinels, master, int(db or 0), password)


def redis_settings(target: RedisTarget, env, cache_type: str, timeout: float) -> dict:
    """What each Redis user needs to find the master: the rate limits
    (`limits`), Flask-Caching, and Celery's broker and results (kombu's
    sentinel transport, which asks the sentinels on every new connection)."""
    limiter_options = {
        "socket_timeout": timeout / 2,
        "socket_connect_timeout": timeout / 2,
        "retry": Retry(NoBackoff(), 0),
    }
    broker = env.get("CELERY_BROKER_URL")
    results = env.get("CELERY_RESULT_BACKEND")
    if not target.sentinels:
        return {
            "RATELIMIT_STORAGE_URI": target.url,
            "RATELIMIT_STORAGE_OPTIONS": limiter_options,
            "CACHE_TYPE": cache_type,
            "CACHE_REDIS_URL": target.url,
            "CELERY": {"broker_url": broker or target.url, "result_backend": results or target.url},
        }
    sentinel_kwargs = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if env.get("REDIS_SENTINEL_PASSWORD"):
        sentinel_kwargs["password"] = env["REDIS_SENTINEL_PASSWORD"]
    hosts = ",".join(f"{host}:{port}" for host, port in target.sentinels)
    auth = f":{quote(target.password, safe='')}@" if target.password else ""
    kombu_url = ";".join(f"sentinel://{auth}{h}:{p}/{target.db}" for h, p in target.sentinels)
    kombu_options = {"master_name": target.master, "sentinel_kwargs": sentinel_kwargs}
    celery: dict = {"broker_url": broker or kombu_url, "result_backend": results or kombu_url}
    if celery["broker_url"].startswith("sentinel://"):
        celery["broker_transport_options"] = kombu_options
    if celery["result_backend"].startswith("sentinel://"):
        celery["result_backend_transport_options"] = kombu_options
    return {
        "REDIS_SENTINEL_OPTIONS": sentinel_kwargs,
        "RATELIMIT_STORAGE_URI": f"redis+sentinel://{hosts}/{target.master}",
        "RATELIMIT_STORAGE_OPTIONS": {
            **limiter_options,
            "db": target.db,
            "password": target.password,
            "use_replicas": False,
            "sentinel_kwargs": sentinel_kwargs,
        },  # fmt: skip
        "CACHE_TYPE": "RedisSentinelCache" if cache_type == "RedisCache" else cache_type,
        "CACHE_REDIS_SENTINELS": list(target.sentinels),
        "CACHE_REDIS_SENTINEL_MASTER": target.master,
        "CACHE_REDIS_DB": target.db,
        "CACHE_REDIS_PASSWORD": target.password,
        "CELERY": celery,
    }


def on_rabbitmq(celery: dict) -> dict:
    """Celery's settings, plus what makes RabbitMQ keep every task: quorum
    queues (replicated, on disk) and publisher confirms (a publish returns
    once the broker has the message). Countdowns then use RabbitMQ's native
    delayed delivery, which needs a topic exchange; the exchange has a new
    name because RabbitMQ cannot change an existing one's type."""
    if not celery["broker_url"].startswith(("amqp://", "amqps://", "pyamqp://")):
        return celery
    return {
        **celery,
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "task_default_exchange": "tasks",
        "task_default_exchange_type": "topic",
        "task_create_missing_queue_exchange_type": "topic",
        "broker_transport_options": {**celery["broker_transport_options"], "confirm_publish": True},
    }
