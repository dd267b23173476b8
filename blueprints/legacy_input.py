"""Transition only: the hand-written input checks of the views not yet moved
to schemas (blueprints.fields). Deleted once every view has moved."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, request

from blueprints.api import ApiError


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
