"""The JSON error contract shared by every /api view.

Errors are ``{"error": {"code": "snake_case", "message": "..."}}`` with the
matching status; no bad input ever becomes a 500.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import redis
import sqlalchemy.exc
from flask import Flask, current_app, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.routing import BaseConverter

from exts import limiter

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer's error; ``field`` names the input it is about, so a form can
    show the message beside that field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        retry_after: int | None = None,
        field: str | None = None,
    ) -> None:
        message = str(message)  # a lazy_gettext string, in this request's language
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.field = field


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


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it
    (require_json_writes has refused any other Content-Type)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body


# Fields as the admin forms label them: an error names its field in the
# form's words ("Price must be ...", not "'price_cents' must be ...").
LABELS = {
    "title": "The title",
    "product": "The product",
    "description": "The description",
    "image_url": "The picture address",
    "link_url": "The link",
    "price_cents": "The price",
    "regular_price_cents": "The regular price",
    "total_stock": "The stock",
    "starts_at": "The start",
    "ends_at": "The end",
    "position": "The position",
}


def label(name: str) -> str:
    return LABELS.get(name, f"'{name}'")


def field_error(name: str, message: str, code: str = "invalid_field") -> ApiError:
    """A 400 about the field ``name``; ``message`` follows its label."""
    return ApiError(400, code, f"{label(name)} {message}", field=name)


def string_field(body: Mapping[str, Any], name: str, max_length: int = 320) -> str:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise field_error(name, "is required.", "missing_field")
    if not isinstance(value, str):
        raise field_error(name, "must be text.")
    value = value.strip()
    if len(value) > max_length:
        raise field_error(name, f"is too long: {max_length:,} characters at most.")
    if not is_plain_text(value):
        raise field_error(name, "must be one line of text, without control characters.")
    return value


# Times fall in this century; outside it a time is a typo, and the far ends
# (year 1 or 9999 with an offset) do not even convert to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def moment_field(body: Mapping[str, Any], name: str) -> datetime:
    """An ISO 8601 time in UTC; without an offset it is read in TIMEZONE."""
    raw = string_field(body, name, max_length=40)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise field_error(
            name, "must be a date and time such as 2026-11-25T20:00:00+08:00."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise field_error(
            name, f"must fall between the years {EARLIEST.year} and {LATEST.year - 1}."
        )
    return utc


def is_plain_text(value: str) -> bool:
    """No control characters (NUL, newlines) and no lone surrogates, which no
    database or mail server can store."""
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def url_field(body: Mapping[str, Any], name: str, required: bool) -> str | None:
    """An image or link address: http(s), or a path on this site."""
    if not required and body.get(name) in (None, ""):
        return None
    value = string_field(body, name, max_length=500)
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise field_error(name, "must not contain spaces: write %20 for one.", "invalid_url")
    if value.startswith("/") and not value.startswith("//"):
        if not is_site_path(value):
            raise field_error(name, "must not contain backslashes.", "invalid_url")
        return value  # a path on this site, such as /static/banners/sale.svg
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        message = "must start with https:// (or http://), or with / for a file on this site."
        raise field_error(name, message, "invalid_url")
    return value


def is_site_path(value: str) -> bool:
    r"""Whether a browser reads ``value`` as a path on this site, never another host.

    Browsers treat a backslash as a slash and drop tabs and newlines, so
    ``/\evil.example`` and ``/<tab>/evil.example`` lead off-site like ``//evil.example``.
    """
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False
    return not any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value)


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def require_json_writes(app: Flask) -> None:
    """Every write under /api takes only JSON, whatever its route: a form, or
    any other body another site's page can send without a CORS preflight
    (which we never grant), is refused before a view sees the session."""

    @app.before_request
    def refuse_other_bodies():
        if not _is_api_request() or request.method not in WRITE_METHODS:
            return None
        if request.mimetype != "application/json":
            message = "Send a JSON object with Content-Type: application/json."
            return error_response(415, "unsupported_media_type", message)
        if request.get_data(cache=True) and not isinstance(request.get_json(silent=True), dict):
            return error_response(400, "invalid_json", "The body must be a JSON object.")
        return None


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        return error_response(
            error.status, error.code, error.message, error.retry_after, error.field
        )

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
