"""The application factory: ``flask --app app run``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config as settings
from blueprints import (
    auth,
    banners,
    caching,
    jobs,
    main,
    ops,
    reminders,
    reports,
    schedules,
    seckill,
)
from blueprints.core import i18n, openapi
from blueprints.core.api import (
    IdConverter,
    JSONProvider,
    register_error_handlers,
    require_json_writes,
)
from exts import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    mail,
    migrate,
    redis_client,
    snapshots,
    talisman,
)
from tasks import make_celery


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, Celery, blueprints, in that order.

    ``config`` overrides the environment's settings (tests pass theirs here);
    the nested CELERY dict is merged, not replaced.
    """
    app = Flask(__name__, instance_path=str(settings.INSTANCE))
    app.config.update(settings.load(config or {}))
    auth.init_app(app)

    behind_proxies(app)
    secure_headers(app)
    db.init_app(app)
    # Beside the code, not the working directory: an installed shop finds its own.
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    mail.init_app(app)
    i18n.compile_catalogues(Path(app.root_path) / "translations")
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=lambda: app.config["TIMEZONE"])  # fmt: skip
    snapshots.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    redis_client.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login_page"
    make_celery(app)
    ops.init_app(app)

    app.json = JSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    pages = (main.bp, i18n.bp, auth.bp, caching.bp, banners.bp, seckill.bp,
             ops.bp, schedules.bp, reports.bp)  # fmt: skip
    for blueprint in pages:
        app.register_blueprint(blueprint)
    openapi.init_app(app, [auth.blp, jobs.blp, banners.blp, seckill.blp, seckill.admin_blp,
                           reminders.blp, reports.blp, schedules.blp, ops.blp])  # fmt: skip
    register_error_handlers(app)
    require_json_writes(app)

    app.add_template_filter(i18n.shop_time)
    app.add_template_filter(i18n.money)
    app.add_template_global(i18n.shop_span)
    app.context_processor(i18n.template_context)

    log_at(app, app.config["LOG_LEVEL"])
    return app


def log_at(app: Flask, level: str) -> None:
    """The app's log level (LOG_LEVEL). Above INFO, the development server's
    lines about successful GETs (pages poll every 2 s) are left out; the
    other requests, warnings and errors still show."""
    if not app.debug and not app.testing:
        logging.basicConfig(level=level)
    if logging.getLevelName(level) > logging.INFO:
        logging.getLogger("werkzeug").addFilter(_not_a_routine_request)


def _not_a_routine_request(record: logging.LogRecord) -> bool:
    if not isinstance(record.args, tuple) or len(record.args) != 3:
        return True
    line, code, _size = record.args
    return not ("GET /" in str(line) and str(code)[:1] in "23")


def behind_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto from the TRUSTED_PROXIES nearest hops only,
    so per-IP limits see the client, and nobody else can forge those headers."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def secure_headers(app: Flask) -> None:
    """CSP without inline script, no framing, no sniffing; HTTPS, HSTS and Secure
    cookies unless HTTPS is off (development)."""
    https = app.config["HTTPS"]
    talisman.init_app(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        content_security_policy={
            "default-src": "'self'",
            "img-src": ["'self'", "https:", "http:"],  # banners may live on other hosts
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        },
    )
