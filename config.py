"""Settings read from the environment, with defaults that work on a fresh machine.

Every setting lives here; code reads ``current_app.config[...]``. Each area
(web, Redis, mail, SMS, codes, caches, sales, operations, Celery) is read by
its own function; ``from_env`` joins them and derives what follows from
``REDIS_URL`` once, and ``load`` applies the overrides tests and tools pass to
``create_app(config)``. The README's table lists every variable read here
(tests/test_settings_table.py holds it to that).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from blueprints.core.servers import RedisTarget, on_rabbitmq, redis_settings

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def instance_secret_key() -> str:
    """The key in instance/secret_key, created once so web and worker agree."""
    path = INSTANCE / "secret_key"
    INSTANCE.mkdir(exist_ok=True)
    try:
        # O_EXCL: when several processes start at once, exactly one writes.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip()


def _float(value: str | None, default: float) -> float:
    return default if value is None or value == "" else float(value)


def embedded_redis_url() -> str:
    """The URL of the Redis that `make run` started, else the standard local port.

    The file lets a second terminal (`flask ...`, a worker) find the embedded server.
    """
    path = INSTANCE / "redis.url"
    if path.exists():
        return path.read_text().strip()
    return "redis://127.0.0.1:6379/0"


def from_env(env: os._Environ | dict = os.environ) -> dict:
    """All settings, from environment variables or their documented defaults:
    each area's read by its own function below, and what follows from
    ``REDIS_URL`` (the limits', the cache's, Celery's) derived once, here."""
    redis_url = env.get("REDIS_URL") or embedded_redis_url()
    # Seconds any one Redis or broker call may take: a hung server (not a
    # refused one) must cost a request about this much, not the OS's minutes.
    redis_timeout = _float(env.get("REDIS_TIMEOUT"), 1.0)
    cache_type = env.get("CACHE_TYPE") or "SimpleCache"
    settings: dict[str, Any] = {
        **_web(env),
        **_redis(env, redis_url, redis_timeout),
        **_mail(env),
        **_sms(env),
        **_codes(env),
        **_caches(env, cache_type, redis_timeout),
        **_sales(env),
        **_operations(env),
        "CELERY": _celery(env, redis_timeout),
    }
    where = redis_settings(RedisTarget.parse(redis_url), env, cache_type, redis_timeout)
    settings["CELERY"] = _merged_celery(settings["CELERY"], where.pop("CELERY"))
    settings.update(where)
    return settings


def load(overrides: Mapping[str, Any]) -> dict:
    """The app's settings: the environment's, with ``overrides`` (tests and
    tools pass theirs) applied, the nested CELERY dict merged, not replaced.
    What follows from REDIS_URL follows an override of it too, and what
    follows from the broker (RabbitMQ's quorum queues) from the final one."""
    overrides = dict(overrides)
    redis_url = overrides.get("REDIS_URL") or os.environ.get("REDIS_URL", "")
    settings = from_env({**os.environ, "REDIS_URL": redis_url})
    settings["CELERY"] = on_rabbitmq({**settings["CELERY"], **overrides.pop("CELERY", {})})
    settings.update(overrides)
    return settings


def _merged_celery(celery: dict, derived: dict) -> dict:
    transport = {
        **celery["broker_transport_options"],
        **derived.get("broker_transport_options", {}),
    }
    return {**celery, **derived, "broker_transport_options": transport}


def _web(env: Mapping[str, str]) -> dict[str, Any]:
    debug = _bool(env.get("FLASK_DEBUG"))
    # HTTPS only (redirect, HSTS, Secure cookies) everywhere but development.
    https = _bool(env.get("HTTPS"), default=not debug)
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or instance_secret_key(),
        "DEBUG": debug,
        "LOG_LEVEL": (env.get("LOG_LEVEL") or "info").upper(),
        "HTTPS": https,
        # Reverse proxies in front of the app (nginx: 1) whose X-Forwarded-For
        # and X-Forwarded-Proto are believed; with 0, those headers are ignored.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES") or 0),
        "TIMEZONE": env.get("TIMEZONE") or "Asia/Shanghai",
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'app.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "ADMIN_EMAILS": [e.lower() for e in _list(env.get("ADMIN_EMAILS"))],
        # Sessions: signed cookie, cleared on login so no pre-login state survives.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=7),
        "MAX_CONTENT_LENGTH": 64 * 1024,
        # Where users reach the shop: links in mails, which workers write.
        "PUBLIC_URL": (env.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # /metrics answers a caller with "Authorization: Bearer <token>"; unset, it is off (404).
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # Flask-WTF: pages post forms with a token; /api clients send it as a header.
        "WTF_CSRF_TIME_LIMIT": None,
    }


def _redis(env: Mapping[str, str], redis_url: str, redis_timeout: float) -> dict[str, Any]:
    return {
        "REDIS_URL": redis_url,
        "REDIS_TIMEOUT": redis_timeout,
        # Writes that must survive a failover (reservations, codes) wait until
        # this many replicas have them (core/replication.py): 1 behind
        # Sentinel, none for a single server.
        "REDIS_WAIT_REPLICAS": int(
            env.get("REDIS_WAIT_REPLICAS") or (1 if redis_url.startswith("redis+sentinel") else 0)
        ),
        "REDIS_WAIT_MS": int(env.get("REDIS_WAIT_MS") or 100),
        "REDIS_WAIT_PAUSE": _float(env.get("REDIS_WAIT_PAUSE"), 1.0),
    }


def _mail(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Flask-Mail
        "MAIL_SERVER": env.get("MAIL_SERVER") or "127.0.0.1",
        "MAIL_PORT": int(env.get("MAIL_PORT") or 8025),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER") or "Flash Shop <no-reply@localhost>",
        # Flask-Mail would suppress mail under TESTING; the tests read real mail.
        "MAIL_SUPPRESS_SEND": _bool(env.get("MAIL_SUPPRESS_SEND")),
        # smtplib's debug output would print every message, codes included.
        "MAIL_DEBUG": False,
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT") or 10),
        # Sale reminders (blueprints/reminders): sent this long before a sale
        # opens, in batches of this many, at most this fast through the mail
        # server (a `limits` rate, shared by every worker through Redis).
        "REMINDER_LEAD_SECONDS": _float(env.get("REMINDER_LEAD_SECONDS"), 300),
        "REMINDER_BATCH_SIZE": int(env.get("REMINDER_BATCH_SIZE") or 100),
        # SMTP connections a batch sends over at once: they hide the server's round trips.
        "REMINDER_SMTP_CONNECTIONS": int(env.get("REMINDER_SMTP_CONNECTIONS") or 4),
        "REMINDER_MAIL_RATE": env.get("REMINDER_MAIL_RATE") or "200/second",
        "REMINDER_SMS_RATE": env.get("REMINDER_SMS_RATE") or "20/second",
    }


def _sms(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        # SMS: providers are tried in this order; the next one takes over on failure.
        "SMS_PROVIDERS": _list(env.get("SMS_PROVIDER") or "console"),
        "SMS_TIMEOUT": float(env.get("SMS_TIMEOUT") or 10),
        "TENCENT_SMS_SECRET_ID": env.get("TENCENT_SMS_SECRET_ID"),
        "TENCENT_SMS_SECRET_KEY": env.get("TENCENT_SMS_SECRET_KEY"),
        "TENCENT_SMS_APP_ID": env.get("TENCENT_SMS_APP_ID"),
        "TENCENT_SMS_SIGN_NAME": env.get("TENCENT_SMS_SIGN_NAME"),
        "TENCENT_SMS_TEMPLATE_ID": env.get("TENCENT_SMS_TEMPLATE_ID"),
        # Sale reminders by SMS: an approved template with {title} and {time}.
        "TENCENT_SMS_REMINDER_TEMPLATE_ID": env.get("TENCENT_SMS_REMINDER_TEMPLATE_ID"),
        "TENCENT_SMS_REGION": env.get("TENCENT_SMS_REGION") or "ap-guangzhou",
        "TENCENT_SMS_ENDPOINT": env.get("TENCENT_SMS_ENDPOINT") or "sms.tencentcloudapi.com",
        "ALIYUN_SMS_ACCESS_KEY_ID": env.get("ALIYUN_SMS_ACCESS_KEY_ID"),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": env.get("ALIYUN_SMS_ACCESS_KEY_SECRET"),
        "ALIYUN_SMS_SIGN_NAME": env.get("ALIYUN_SMS_SIGN_NAME"),
        "ALIYUN_SMS_TEMPLATE_CODE": env.get("ALIYUN_SMS_TEMPLATE_CODE"),
        "ALIYUN_SMS_REMINDER_TEMPLATE_CODE": env.get("ALIYUN_SMS_REMINDER_TEMPLATE_CODE"),
        "ALIYUN_SMS_ENDPOINT": env.get("ALIYUN_SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
    }


def _codes(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "PHONE_DEFAULT_REGION": env.get("PHONE_DEFAULT_REGION") or "CN",
        "CODE_TTL": int(env.get("CODE_TTL") or 300),
        "CODE_MAX_ATTEMPTS": int(env.get("CODE_MAX_ATTEMPTS") or 5),
        "CODE_RESEND_COOLDOWN": int(env.get("CODE_RESEND_COOLDOWN") or 60),
        # The login page gives up on a send after this long and offers a new code.
        "CODE_SEND_WAIT": int(env.get("CODE_SEND_WAIT") or 60),
        # Per requester (an IP, or a device that logged in to the target before)
        # and target: someone hammering an address uses up only their own share,
        # and someone sharing the owner's IP holds a new device of the owner's
        # up for one window at most (Twilio Verify's ten minutes).
        "CODE_MAX_PER_WINDOW": int(env.get("CODE_MAX_PER_WINDOW") or 5),
        "CODE_WINDOW_SECONDS": int(env.get("CODE_WINDOW_SECONDS") or 600),
        # Every requester but trusted devices together, per target: the bill's bound.
        "CODE_TARGET_MAX_PER_DAY": int(env.get("CODE_TARGET_MAX_PER_DAY") or 30),
        # A proof of work (ALTCHA) is asked once a target had this many sends in
        # the last hour, or a requester this many to any targets.
        "CODE_CHALLENGE_TARGET": int(env.get("CODE_CHALLENGE_TARGET") or 3),
        "CODE_CHALLENGE_CLIENT": int(env.get("CODE_CHALLENGE_CLIENT") or 10),
        # Hashes a browser tries on average is half this: about a second or two.
        "CODE_CHALLENGE_COST": int(env.get("CODE_CHALLENGE_COST") or 100_000),
        # Spending guard over all targets: a flood of distinct numbers stops here.
        "SMS_DAILY_BUDGET": int(env.get("SMS_DAILY_BUDGET") or 1000),
        # Windows of ten minutes at most, for the same reason.
        "CODE_IP_LIMIT": env.get("CODE_IP_LIMIT") or "20 per 10 minutes;5/minute",
        "LOGIN_IP_LIMIT": env.get("LOGIN_IP_LIMIT") or "30/minute",
        # Flask-Limiter
        # An unreachable Redis must not turn every request into an error: the
        # limits are kept in memory meanwhile, and Redis is tried again later.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "limiter:v1",
    }


def _caches(env: Mapping[str, str], cache_type: str, redis_timeout: float) -> dict[str, Any]:
    return {
        # Home page banners and the interface cache that serves them (blueprints/caching)
        "BANNER_COUNT": int(env.get("BANNER_COUNT") or 5),
        "INTERFACE_CACHE_ENABLED": _bool(env.get("INTERFACE_CACHE_ENABLED"), default=True),
        "INTERFACE_CACHE_TTL": _float(env.get("INTERFACE_CACHE_TTL"), 300),
        "INTERFACE_CACHE_TTL_JITTER": _float(env.get("INTERFACE_CACHE_TTL_JITTER"), 0.1),
        "INTERFACE_CACHE_LOCK_SECONDS": _float(env.get("INTERFACE_CACHE_LOCK_SECONDS"), 5),
        "INTERFACE_CACHE_WAIT_SECONDS": _float(env.get("INTERFACE_CACHE_WAIT_SECONDS"), 0.2),
        "INTERFACE_CACHE_SECOND_DELETE_DELAY": _float(
            env.get("INTERFACE_CACHE_SECOND_DELETE_DELAY"), 1
        ),
        # Beat's refresh of every cache, seconds or a crontab line: it seeds the
        # schedule row on first start; edit the row in /admin/schedules after.
        "INTERFACE_CACHE_REFRESH_SCHEDULE": env.get("INTERFACE_CACHE_REFRESH_SCHEDULE") or "120",
        # Flask-Caching: short-lived snapshots (the sale pages' polls), see the README.
        # In each process by default: it measured faster than RedisCache, and
        # keeps answering while Redis hangs.
        "CACHE_OPTIONS": (  # for RedisCache: its own client, with our timeouts
            {"socket_timeout": redis_timeout, "socket_connect_timeout": redis_timeout}
            if cache_type == "RedisCache"
            else {}
        ),
        "CACHE_KEY_PREFIX": "cache:v1:",
    }


def _sales(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        # Flash sales (blueprints/seckill)
        "SECKILL_PAY_TIMEOUT": int(env.get("SECKILL_PAY_TIMEOUT") or 900),
        "SECKILL_RESULT_TTL": int(env.get("SECKILL_RESULT_TTL") or 2 * 86400),
        "SECKILL_MAX_PENDING": int(env.get("SECKILL_MAX_PENDING") or 100_000),
        "SECKILL_DRAIN_BATCH": int(env.get("SECKILL_DRAIN_BATCH") or 500),
        "SECKILL_DRAIN_LIMIT": int(env.get("SECKILL_DRAIN_LIMIT") or 20_000),
        # A reservation a killed drainer left pending is taken over after this long.
        "SECKILL_CLAIM_AFTER_MS": int(env.get("SECKILL_CLAIM_AFTER_MS") or 30_000),
        # A sale's CSV export can be downloaded this long, then Redis drops it.
        "EXPORT_TTL": int(env.get("EXPORT_TTL") or 3600),
    }


def _operations(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "TASK_OWNER_TTL": int(env.get("TASK_OWNER_TTL") or 86400),
        # Task history (blueprints/ops): every run, kept this long and at most this many.
        "TASK_HISTORY_ENABLED": _bool(env.get("TASK_HISTORY_ENABLED"), default=True),
        "TASK_HISTORY_DAYS": int(env.get("TASK_HISTORY_DAYS") or 30),
        "TASK_HISTORY_MAX_ROWS": int(env.get("TASK_HISTORY_MAX_ROWS") or 1_000_000),
        # Each process writes its task changes this often, in one transaction.
        "TASK_HISTORY_FLUSH_SECONDS": _float(env.get("TASK_HISTORY_FLUSH_SECONDS"), 0.5),
        # A beat that stops renewing its lease is replaced by a standby after this long.
        "BEAT_LOCK_SECONDS": _float(env.get("BEAT_LOCK_SECONDS"), 10),
        # Beat hears of schedule edits at once (Redis pub/sub), and also looks
        # at the table this often, for a notice it missed.
        "BEAT_CHECK_SECONDS": _float(env.get("BEAT_CHECK_SECONDS"), 5),
        # How long the dashboard waits for workers to answer a remote-control query.
        "WORKER_REPLY_TIMEOUT": _float(env.get("WORKER_REPLY_TIMEOUT"), 1.0),
    }


def _celery(env: Mapping[str, str], redis_timeout: float) -> dict[str, Any]:
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_track_started": True,
        "task_ignore_result": True,
        "result_expires": int(env.get("CELERY_RESULT_EXPIRES") or 86400),
        "timezone": env.get("TIMEZONE") or "Asia/Shanghai",
        "enable_utc": True,
        "broker_connection_retry_on_startup": True,
        # Redis broker: a message a killed worker held (acks_late) is handed
        # out again after this long, so an interrupted code send still
        # arrives within the code's lifetime. ETA tasks must not be held
        # longer than this, or they too are handed out again (see
        # seckill.cancel_unpaid). RabbitMQ redelivers at once instead.
        "broker_transport_options": {
            "visibility_timeout": int(env.get("CELERY_VISIBILITY_TIMEOUT") or 120),
            "socket_timeout": redis_timeout,
            "socket_connect_timeout": redis_timeout,
        },
        "broker_connection_timeout": redis_timeout,
        "redis_socket_timeout": redis_timeout,
        "redis_socket_connect_timeout": redis_timeout,
        "worker_hijack_root_logger": False,
        # The schedule is in the database (/admin/schedules), and one beat
        # sends at a time (blueprints/schedules): a second is a standby.
        "beat_scheduler": "blueprints.schedules.beat:DatabaseScheduler",
    }
