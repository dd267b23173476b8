"""The API layer: flask-smorest's Api and Blueprint, set to the shop's error
contract, and the OpenAPI 3 description served at ``/api/openapi.json``.

Views declare their input with ``@blp.arguments(Schema)`` and their answers
with ``@blp.response`` / ``@blp.alt_response``; the document is generated
from those schemas. A failed load is a 400 in the shop's shape (never
webargs' 422). The answers the shared mechanisms give (a bad body, the
guards, rate limits, outages) are added by an apispec plugin as each route
is registered, so no view repeats them, and `flask openapi print` prints
the very document the API serves. tests/test_openapi.py runs schemathesis
against it: every operation, no 500, every answer as described.
"""

from __future__ import annotations

from functools import wraps

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, jsonify, request
from flask_smorest.utils import resolve_schema_instance
from webargs.flaskparser import FlaskParser
from werkzeug.routing import UnicodeConverter

from blueprints.core.api import WRITE_METHODS, IdConverter, Refused, has_body
from blueprints.core.fields import NothingSchema, first_error
from models.ops import TASK_ID_LENGTH

bp = FlaskBlueprint("openapi", __name__)


class Parser(FlaskParser):
    """Bodies and query strings, read by their schema; what is wrong is a 400."""

    DEFAULT_VALIDATION_STATUS = 400
    # Unknown fields are refused everywhere, query strings too (the schema's RAISE).
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        code, message, field = first_error(error, schema)
        raise Refused(code, message, field or None)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def arguments(self, schema, *, location: str = "json", **kwargs):
        """flask-smorest's, but a JSON body is loaded by its schema directly:
        webargs' general parser cost the gate a tenth of its time, and
        require_json_writes has already made sure the body is a JSON object."""
        document = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return document
        loader = resolve_schema_instance(schema)

        def decorator(view):
            @wraps(view)
            def with_body(*args, **kwargs):
                body = request.get_json() if has_body() else {}  # a DELETE may have none
                if not body and not loader.fields:
                    return view({}, *args, **kwargs)  # nothing to read (Buy): skip the load
                try:
                    values = loader.load(body)
                except ma.ValidationError as error:
                    code, message, field = first_error(error, loader)
                    raise Refused(code, message, field or None) from None
                return view(values, *args, **kwargs)

            with_body._apidoc = document(view)._apidoc  # type: ignore[attr-defined]
            return with_body

        return decorator

    def alt_response(self, status_code, *args, **kwargs):
        """flask-smorest's, without the call it wraps around the view: an
        alternative answer is only documented, and the gate has six."""
        document = super().alt_response(status_code, *args, **kwargs)

        def decorator(view):
            view._apidoc = document(view)._apidoc
            return view

        return decorator

    def takes_nothing(self, view):
        """A write that needs no fields takes ``{}``, and refuses any field."""
        return self.arguments(NothingSchema)(_without_body(view))

    def takes_no_body(self, view):
        """A DELETE: no body at all (RFC 9110), or ``{}``."""
        return self.arguments(NothingSchema, required=False)(_without_body(view))


def _without_body(view):
    @wraps(view)
    def without_body(_body, *args, **kwargs):
        return view(*args, **kwargs)

    return without_body


class ErrorDetail(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    field = ma.fields.String(metadata={"description": "the input field it is about"})


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetail, required=True)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own answers

    def _register_error_handlers(self) -> None:
        """blueprints.core.api answers every error, in the shop's shape."""

    def _register_doc_blueprint(self) -> None:
        """Served by ``bp`` below, with the shared answers added."""


def schema_name(schema: type[ma.Schema] | ma.Schema) -> str:
    """A schema's name in the document: ``SaleInputSchema`` is ``SaleInput``,
    and its partial form (an edit) ``SaleInputPatch``."""
    cls = schema if isinstance(schema, type) else type(schema)
    partial = not isinstance(schema, type) and schema.partial
    return cls.__name__.removesuffix("Schema") + ("Patch" if partial else "")


SPEC = {
    "title": "Flash Shop API",
    "version": "1",
    "openapi_version": "3.0.3",
    "info": {"description": 'Errors are {"error": {"code", "message", "field"}}.'},
}
ID = {"type": "integer", "minimum": 0, "maximum": IdConverter.MAX}
TEXT_ID = {"type": "string", "minLength": 1, "maxLength": TASK_ID_LENGTH}  # task and purchase ids


def init_app(app: Flask, blueprints: list[Blueprint]) -> None:
    """Register the API's blueprints and their description. Pages' forms
    carry CSRF tokens; the API takes only JSON, which no other site can send
    without a CORS preflight we never grant, so it needs none."""
    from exts import csrf

    plugins = {
        "marshmallow_plugin": MarshmallowPlugin(schema_name),
        "extra_plugins": [SharedAnswers(app)],
    }
    api = Api(spec_kwargs={**SPEC, **plugins})
    api.register_converter(IdConverter, lambda converter: ID)
    api.register_converter(UnicodeConverter, lambda converter: TEXT_ID)
    api.init_app(app)
    api.spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    for name, response in RESPONSES.items():
        api.spec.components.response(name, response)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.register_blueprint(bp)


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}


RESPONSES = {
    "NotLoggedIn": _error("Log in first"),
    "Forbidden": _error("Not allowed for this user"),
    "NotFound": _error("No such thing, or not yours"),
    "NotJson": _error("Writes take only a JSON object (Content-Type: application/json)"),
    "RateLimited": {
        **_error("Too many requests; wait Retry-After seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "Unavailable": {
        **_error("Redis or the database is briefly unavailable; retry after Retry-After"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


class SharedAnswers(BasePlugin):
    """Adds to each operation what the shared mechanisms answer, so no view
    repeats it: a write takes only a JSON object (415, 400), the guards
    refuse (401; 403 for admin_api), any endpoint can be rate limited (429)
    or find Redis or the database down (503), and an id in the path that no
    row has is the router's 404."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if rule is not None else None
        guard = getattr(view, "guard", None)
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            if method.upper() in WRITE_METHODS:
                responses.setdefault("415", "NotJson")
                responses.setdefault("400", "BAD_REQUEST")
            if guard:
                operation.setdefault("security", [{"session": []}])
                responses.setdefault("401", "NotLoggedIn")
            if guard == "admin":
                responses.setdefault("403", "Forbidden")
            if "{" in (path or ""):
                responses.setdefault("404", "NotFound")
            responses.setdefault("429", "RateLimited")
            responses.setdefault("503", "Unavailable")


@bp.get("/api/openapi.json")
def openapi_json():
    """The document (also `flask openapi print`)."""
    if "openapi" not in current_app.extensions:
        api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        current_app.extensions["openapi"] = api.spec.to_dict()
    return jsonify(current_app.extensions["openapi"])
