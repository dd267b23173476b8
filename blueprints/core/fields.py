"""The API's input shapes, declared once: marshmallow fields that speak the
admin forms' words, and the schema every body and query string is read with.

A field's message follows its label ("The price must be ..."); an error's
code is ``missing_field``, ``unknown_field``, ``invalid_field`` or one a
field names itself (``Coded``). ``blueprints.core.openapi`` turns a failed load
into the API's 400 and describes every schema in /api/openapi.json.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app
from marshmallow import ValidationError, validate

REQUIRED = "is required."
UNKNOWN = "is not a field of this request."


class Coded(str):
    """A message with its own error code, such as ``invalid_url``; ``whole``
    when it is a sentence of its own, not one that follows the field's label."""

    code: str
    whole: bool

    def __new__(cls, message: str, code: str, whole: bool = False) -> Coded:
        coded = super().__new__(cls, message)
        coded.code, coded.whole = code, whole
        return coded


class Problem:
    """An error message with its code, for ``error_messages`` and validators;
    ``message`` may be a lazy translation, read in the request's language."""

    def __init__(self, message: Any, code: str, whole: bool = False) -> None:
        self.message, self.code, self.whole = message, code, whole

    def coded(self, **values: Any) -> Coded:
        return Coded(str(self.message).format(**values), self.code, self.whole)


class OneOf(validate.OneOf):
    """marshmallow's, with a coded message (documented as the enum)."""

    def __init__(self, choices: Any, problem: Problem) -> None:
        super().__init__(choices)
        self.problem = problem

    def _format_error(self, value: Any) -> str:
        return self.problem.coded(input=value)


class Regexp(validate.Regexp):
    def __init__(self, pattern: str, problem: Problem) -> None:
        super().__init__(pattern)
        self.problem = problem

    def _format_error(self, value: Any) -> str:
        return self.problem.coded(input=value)


class Schema(ma.Schema):
    """Unknown fields are refused, on every route (400 ``unknown_field``)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    error_messages = {"unknown": UNKNOWN, "type": "must be a JSON object."}


class NothingSchema(Schema):
    """The body of a write that needs no fields: ``{}``."""


def error_code(message: str) -> str:
    if isinstance(message, Coded):
        return message.code
    return {REQUIRED: "missing_field", UNKNOWN: "unknown_field"}.get(message, "invalid_field")


class Field(ma.fields.Field):
    """``label`` is the field's name in the form ("The price"); messages follow it."""

    default_error_messages = {"required": REQUIRED, "null": REQUIRED}

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        if label:
            kwargs["metadata"] = {**kwargs.get("metadata", {}), "label": label}
        super().__init__(*args, **kwargs)

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        """marshmallow's; a ``Problem`` becomes its coded message."""
        template = self.error_messages.get(key)
        if isinstance(template, Problem):
            return ValidationError(template.coded(**kwargs))
        return super().make_error(key, **kwargs)


def is_plain_text(value: str) -> bool:
    """No control characters (NUL, newlines) and no lone surrogates, which no
    database or mail server can store."""
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


class Text(Field, ma.fields.String):
    """One line of text, trimmed. Blank is missing, unless ``blank`` allows it;
    where null is allowed, blank is null (an optional field left empty)."""

    default_error_messages = {"invalid": "must be text."}

    def __init__(self, *, max_length: int = 320, blank: bool = False, **kwargs: Any) -> None:
        blank = blank or bool(kwargs.get("allow_none"))  # an optional text may be left empty
        kwargs.setdefault("validate", validate.Length(min=0 if blank else 1, max=max_length))
        super().__init__(**kwargs)
        self.max_length = max_length
        self.blank = blank

    def _validate(self, value) -> None:
        if value is not None:  # an optional field left empty has nothing to measure
            super()._validate(value)

    def _deserialize(self, value, attr, data, **kwargs):  # str, or None for "" if allowed
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and self.allow_none:
            return None  # an optional text left empty
        if not text and not self.blank:
            raise ValidationError(Coded(REQUIRED, "missing_field"))
        if len(text) > self.max_length:
            raise ValidationError(f"is too long: {self.max_length:,} characters at most.")
        if not is_plain_text(text):
            raise ValidationError("must be one line of text, without control characters.")
        return text


def is_site_path(value: str) -> bool:
    r"""Whether a browser reads ``value`` as a path on this site, never another host.

    Browsers treat a backslash as a slash and drop tabs and newlines, so
    ``/\evil.example`` and ``/<tab>/evil.example`` lead off-site like ``//evil.example``.
    """
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False
    return not any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value)


class SiteUrl(Text):
    """An image or link address: http(s), or a path on this site."""

    def __init__(self, *, max_length: int = 500, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "http(s), or a path on this site"})
        super().__init__(max_length=max_length, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):  # str, or None for ""
        url = super()._deserialize(value, attr, data, **kwargs)
        if url is None:
            return None
        if any(char.isspace() or ord(char) < 32 for char in url):
            raise ValidationError(
                Coded("must not contain spaces: write %20 for one.", "invalid_url")
            )
        if url.startswith("/") and not url.startswith("//"):
            if not is_site_path(url):
                raise ValidationError(Coded("must not contain backslashes.", "invalid_url"))
            return url  # a path on this site, such as /static/banners/sale.svg
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            message = "must start with https:// (or http://), or with / for a file on this site."
            raise ValidationError(Coded(message, "invalid_url"))
        return url


class WholeNumber(Field, ma.fields.Integer):
    """An integer from ``low`` to ``high``; true and 1.5 are not."""

    def __init__(self, low: int, high: int, message: str | None = None, **kwargs: Any) -> None:
        message = message or f"must be a whole number from {low:,} to {high:,}."
        kwargs.setdefault("validate", validate.Range(low, high, error=message))
        super().__init__(strict=True, error_messages={"invalid": message}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Flag(Field, ma.fields.Boolean):
    """true or false, and nothing that merely looks like one ("yes", 1)."""

    default_error_messages = {"invalid": "must be true or false."}

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


# Times fall in this century; outside it a time is a typo, and the far ends
# (year 1 or 9999 with an offset) do not even convert to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def length_of(column: Any) -> int:
    """The length of a model's String column: the one place a text's limit is set."""
    return column.property.columns[0].type.length


def max_lengths(schema: type[ma.Schema]) -> dict[str, int]:
    """Each text field's limit, for the inputs of the form that sends it (maxlength)."""
    fields = schema().fields.items()
    return {name: field.max_length for name, field in fields if isinstance(field, Text)}


class Moment(Field, ma.fields.DateTime):
    """An ISO 8601 time, returned in UTC; without an offset it is read in TIMEZONE.
    Answers carry times in ISO form; one already written so (a cached
    snapshot's) passes as it is."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)

    default_error_messages = {
        "invalid": "must be a date and time such as 2026-11-25T20:00:00+08:00.",
    }

    def _deserialize(self, value, attr, data, **kwargs):  # datetime, or None for "" if allowed
        if value == "" and self.allow_none:
            return None  # an optional time left empty
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            utc = None
        if utc is None or not EARLIEST <= utc < LATEST:
            years = f"{EARLIEST.year} and {LATEST.year - 1}"
            raise ValidationError(f"must fall between the years {years}.")
        return utc


class QueryNumber(Field, ma.fields.Integer):
    """A whole number in a query string: ASCII digits, from ``low`` to ``high``."""

    def __init__(self, low: int, high: int, **kwargs: Any) -> None:
        message = f"must be a whole number from {low:,} to {high:,}."
        kwargs.setdefault("validate", validate.Range(low, high, error=message))
        super().__init__(error_messages={"invalid": message}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonText(ma.fields.Raw):
    """An answer's value stored as JSON text: any JSON, or null."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs) -> Any:
        return json.loads(value) if value else None


def first_error(error: ValidationError, schema: ma.Schema) -> tuple[str, str, str]:
    """(code, message, field) of the first thing wrong, in the form's words."""
    messages: Any = error.messages
    for location in ("json", "query", "view_args"):  # webargs files them by location
        if isinstance(messages, dict) and location in messages:
            messages = messages[location]
    if not isinstance(messages, dict):
        return "invalid_json", "The body must be a JSON object.", ""
    name, found = next(iter(messages.items()))
    while isinstance(found, dict):  # a nested field: its first part
        found = next(iter(found.values()))
    message = found[0] if isinstance(found, list) else str(found)
    if name == "_schema":  # a check across fields names the field itself
        name, message = getattr(message, "field", ""), message
    if isinstance(message, Coded) and message.whole:
        return message.code, str(message), name
    field = schema.fields.get(name)
    label = field.metadata.get("label") if field is not None else None
    return error_code(message), f"{label or repr(name)} {message}", name
