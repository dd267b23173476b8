"""The JSON error contract shared by every /api view.

Errors are ``{"error": {"code": "snake_case", "message": "..."}}`` with the
matching status; no bad input ever becomes a 500.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import redis
import sqlalchemy.exc
from flask import Flask, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.routing import BaseConverter

from exts import limiter

log = logging.getLogger(__name__)


class Refused(Exception):
    """A rule of the shop said no. Services raise it with a code; the answer's
    status comes from STATUS, the one place that maps them to HTTP."""

    def __init__(
        self, code: str, message: str, field: str | None = None, retry_after: int | None = None
    ) -> None:
        message = str(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after


STATUS = {  # a Refused code's HTTP status; any other is 400
    "not_logged_in": 401,
    "forbidden": 403,
    "not_open_yet": 403,
    "closed": 403,
    "not_found": 404,
    "already_bought": 409,
    "builtin": 409,
    "name_taken": 409,
    "task_missing": 409,
    "not_replayable": 409,
    "not_failed": 409,
    "finished": 409,
    "running": 409,
    "payment_refused": 409,
    "below_taken": 409,
    "not_done": 409,
    "not_upcoming": 409,
    "sold_out": 410,
    "cooldown": 429,
    "too_many_codes": 429,
    "target_limit": 429,
    "budget_exhausted": 503,
    "broker_unavailable": 503,
    "queue_unavailable": 503,
    "sale_paused": 503,
    "busy": 503,
}


def error_response(
    status: int, code: str, message: str, retry_after: int | None = None, field: str | None = None
):
    error = {"code": code, "message": message, **({"field": field} if field else {})}
    response = jsonify({"error": error})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    return response


class IdConverter(BaseConverter):
    """``<id:name>``: a row id. Numbers beyond what the id columns hold (32-bit
    INTEGER on PostgreSQL and MySQL) read as 0, which no row has (ids start at
    1), so they get the route's own 404; the database would refuse them, and a
    converter refusing them makes werkzeug answer 405 for routes sharing the path."""

    MAX = 2**31 - 1
    regex = r"\d{1,30}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= self.MAX else 0

    def to_url(self, value: int) -> str:
        return str(int(value))


class JSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):  # ISO 8601, as the API takes them, not Flask's HTTP dates
            return o.isoformat()
        return DefaultJSONProvider.default(o)

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:  # ``[`` nested thousands deep: bad JSON, not a crash
            raise ValueError("JSON nested too deeply") from None


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def require_json_writes(app: Flask) -> None:
    """Every write under /api takes only JSON, whatever its route: a form, or
    any other body another site's page can send without a CORS preflight
    (which we never grant), is refused before a view sees the session. A
    DELETE may come without a body: a browser sends a cross-site DELETE only
    after a preflight, so accepting it keeps that defence."""

    @app.before_request
    def refuse_other_bodies():
        if not _is_api_request() or request.method not in WRITE_METHODS:
            return None
        if request.method == "DELETE" and not has_body():
            return None  # a DELETE carries no body (RFC 9110); no other site can send one
        if request.mimetype != "application/json":
            message = "Send a JSON object with Content-Type: application/json."
            return error_response(415, "unsupported_media_type", message)
        if not isinstance(request.get_json(silent=True), dict):  # an empty body too
            return error_response(400, "invalid_json", "The body must be a JSON object.")
        return None


def has_body() -> bool:
    """The request carries a body (of any length, chunked too)."""
    return bool(request.content_length) or "Transfer-Encoding" in request.headers


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Refused)
    def handle_refusal(error: Refused):
        status = STATUS.get(error.code, 400)
        return error_response(status, error.code, error.message, error.retry_after, error.field)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        if _is_api_request():
            return error_response(400, "csrf_failed", error.description)
        error.description = _("This form has expired. Reload the page and try again.")
        return error_page(error)

    @app.errorhandler(429)
    def handle_rate_limited(error: HTTPException):
        current = limiter.current_limit
        retry_after = int(current.reset_at - time.time()) if current else 60
        if not _is_api_request():
            return error_page(error, retry_after=retry_after)
        message = _("Too many requests from your network. Try again in %(seconds)d s.",
                    seconds=retry_after)  # fmt: skip
        return error_response(429, "rate_limited", message, retry_after)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if not _is_api_request():
            return error_page(error)
        return error_response(
            error.code or 500, _snake(error.name), error.description or error.name
        )

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(sqlalchemy.exc.OperationalError)
    def handle_service_down(error: Exception):
        log.error("a service is unavailable: %s", error)
        message = "The service is briefly unavailable; try again in a moment."
        if _is_api_request():
            return error_response(503, "service_unavailable", message, 5)
        return error_page(ServiceUnavailable(), retry_after=5)


def _error_words(code: int) -> tuple[str, str]:
    words = {
        403: (_("This page is not open to you"),
              _("Your account cannot see this page. Log in with another one, or go back.")),
        404: (_("We can't find that page"),
              _("The link may be old or mistyped. The shop is one click away.")),
        405: (_("That didn't work from here"),
              _("This address can't be used that way. Go back to the page and try again.")),
        429: (_("Slow down a little"),
              _("Too many requests came from your network. Wait a minute, then try again.")),
        500: (_("Something went wrong on our side"),
              _("It was logged and we will look at it. Try again in a moment.")),
        503: (_("Back in a moment"),
              _("Part of the shop is briefly unavailable. Try again in a few seconds.")),
    }  # fmt: skip
    return words.get(code, (_("That request didn't work"), _("Go back and try again.")))


def error_page(error: HTTPException, retry_after: int | None = None):
    """An HTTP error as a page in the site's layout, with a way home."""
    code = error.code or 500
    heading, explanation = _error_words(code)
    if error.description and error.description != type(error).description and code != 500:
        explanation = error.description  # the view said what is missing, in the page's words
    headers = {"Retry-After": str(max(1, retry_after))} if retry_after else {}
    try:
        page = render_template("error.html", code=code, heading=heading, explanation=explanation)
    except Exception:  # the layout needs the database (the header's user): say it plainly
        log.exception("the error page could not be drawn")
        words = f"<h1>{escape(heading)}</h1><p>{escape(explanation)}</p>"
        page = f"<!doctype html><title>{code}</title>{words}"
    return page, code, headers
