"""The OpenAPI 3 description of the JSON API, served at ``/api/openapi.json``.

Each view documents itself in its docstring (YAML after ``---``, read by
apispec); the shapes they share are here. The path parameters and the answers
the shared mechanisms give (a bad body, admin_api, rate limits, outages) are
added from the routes themselves, so the document cannot miss a route.
tests/test_openapi.py runs schemathesis against it: every operation, no 500,
every answer as described.
"""

from __future__ import annotations

import re

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, current_app, jsonify

from blueprints.api import WRITE_METHODS, IdConverter
from blueprints.ops.history import STATES as TASK_STATES
from models.schedule import KINDS

bp = Blueprint("openapi", __name__)

ID = {"type": "integer", "minimum": 0, "maximum": IdConverter.MAX}
MOMENT = {"type": "string", "format": "date-time"}
NULLABLE_MOMENT = {**MOMENT, "nullable": True}

SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "the input field it is about"},
                },
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "email", "phone", "is_admin"],
        "properties": {
            "id": ID,
            "email": {"type": "string", "nullable": True},
            "phone": {"type": "string", "nullable": True},
            "is_admin": {"type": "boolean"},
        },
    },
    "Banner": {
        "type": "object",
        "required": ["id", "title", "image_url", "link_url", "position", "is_show"],
        "properties": {
            "id": ID,
            "title": {"type": "string"},
            "image_url": {"type": "string"},
            "link_url": {"type": "string", "nullable": True},
            "position": {"type": "integer"},
            "is_show": {"type": "boolean"},
        },
    },
    "BannerInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "image_url": {
                "type": "string",
                "maxLength": 500,
                "description": "http(s) URL, or a path on this site such as /static/x.svg",
            },
            "link_url": {"type": "string", "maxLength": 500, "nullable": True},
            "position": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
            "is_show": {"type": "boolean"},
        },
    },
    "Banners": {
        "type": "object",
        "required": ["banners"],
        "properties": {"banners": {"type": "array", "items": "Banner"}},
    },
    "Sale": {
        "type": "object",
        "required": [
            *("id", "title", "product", "description", "image_url", "price_cents"),
            *("regular_price_cents", "total_stock", "starts_at", "ends_at", "per_user_limit"),
            "status",
        ],
        "properties": {
            "id": ID,
            "title": {"type": "string"},
            "product": {"type": "string"},
            "description": {"type": "string"},
            "image_url": {"type": "string", "nullable": True},
            "price_cents": {"type": "integer"},
            "regular_price_cents": {"type": "integer", "nullable": True},
            "total_stock": {"type": "integer"},
            "starts_at": MOMENT,
            "ends_at": MOMENT,
            "per_user_limit": {"type": "integer"},
            "status": {"type": "string", "enum": ["active", "closed"]},
        },
    },
    "Reservation": {
        "type": "object",
        "required": ["seckill_id", "confirmed"],
        "properties": {"seckill_id": {"type": "string"}, "confirmed": {"type": "boolean"}},
    },
    "PublicSale": {
        "allOf": [
            "Sale",
            {
                "type": "object",
                "required": ["stock_left", "state"],
                "properties": {
                    "stock_left": {"type": "integer", "nullable": True},
                    "state": {
                        "type": "string",
                        "enum": ["upcoming", "open", "paused", "sold_out", "ended", "closed"],
                    },
                },
            },
        ]
    },
    "SaleOverview": {
        "allOf": [
            "Sale",
            {
                "type": "object",
                "required": ["stock_left", "state", "orders", "sold", "stock_drift", "reminders"],
                "properties": {
                    "stock_left": {"type": "integer", "nullable": True},
                    "state": {
                        "type": "string",
                        "enum": ["upcoming", "open", "paused", "sold_out", "ended", "closed"],
                        "description": "what a shopper sees now; status is what the admin set",
                    },
                    "orders": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "sold": {"type": "integer"},
                    "stock_drift": {"type": "integer", "nullable": True},
                    "reminders": {
                        "type": "object",
                        "required": ["subscribers", "last_run"],
                        "properties": {
                            "subscribers": {"type": "integer"},
                            "last_run": {"allOf": ["ReminderRun"], "nullable": True},
                        },
                    },
                },
            },
        ]
    },
    "SaleInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "product": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 500},
            "image_url": {
                "type": "string",
                "nullable": True,
                "maxLength": 500,
                "description": "http(s) or a path on this site",
            },
            "price_cents": {"type": "integer", "minimum": 1, "maximum": 100_000_000},
            "regular_price_cents": {
                "type": "integer",
                "nullable": True,
                "minimum": 1,
                "maximum": 100_000_000,
                "description": "above price_cents; null for none",
            },
            "total_stock": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "starts_at": {**MOMENT, "description": "ISO 8601; without an offset, in TIMEZONE"},
            "ends_at": MOMENT,
        },
    },
    "SaleAnswer": {
        "type": "object",
        "required": ["sale"],
        "properties": {
            "sale": "SaleOverview",
            "warning": {"type": "string", "description": "saved, but not live yet"},
        },
    },
    "Order": {
        "type": "object",
        "required": [
            *("id", "activity_id", "user_id", "seckill_id", "status", "amount_cents"),
            *("reserved_at", "created_at", "paid_at", "cancelled_at", "pay_by"),
        ],
        "properties": {
            "id": ID,
            "activity_id": ID,
            "user_id": ID,
            "seckill_id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending_payment", "paid", "cancelled"]},
            "amount_cents": {"type": "integer"},
            "reserved_at": MOMENT,
            "created_at": MOMENT,
            "paid_at": NULLABLE_MOMENT,
            "pay_by": {**NULLABLE_MOMENT, "description": "unpaid by then, it is cancelled"},
            "cancelled_at": NULLABLE_MOMENT,
        },
    },
    "Task": {
        "type": "object",
        "required": ["task_id", "state", "ready"],
        "properties": {
            "task_id": {"type": "string"},
            "state": {"type": "string"},
            "ready": {"type": "boolean"},
            "result": {},
            "error": {"type": "string"},
            "progress": {
                "type": "object",
                "description": "while a long task runs (state PROGRESS)",
                "required": ["current", "total", "percent", "description"],
                "properties": {
                    "current": {"type": "integer"},
                    "total": {"type": "integer"},
                    "percent": {"type": "number"},
                    "description": {"type": "string"},
                },
            },
        },
    },
    "Empty": {"type": "object", "description": "any JSON object, {} is enough"},
    "TaskState": {"type": "string", "enum": list(TASK_STATES)},
    "TaskRun": {
        "type": "object",
        "required": ["task_id", "name", "state", "state_at", "seen_at", "retries"],
        "properties": {
            "task_id": {"type": "string"},
            "name": {"type": "string", "nullable": True},
            "state": "TaskState",
            "state_at": MOMENT,
            "seen_at": MOMENT,
            "queue": {"type": "string", "nullable": True},
            "worker": {"type": "string", "nullable": True},
            "retries": {"type": "integer"},
            "runtime": {"type": "number", "nullable": True},
            "error": {"type": "string", "nullable": True},
            "periodic_entry": {"type": "string", "nullable": True},
            "retry_of": {"type": "string", "nullable": True},
        },
    },
    "TaskRunPage": {
        "type": "object",
        "required": ["tasks", "next_cursor", "names"],
        "properties": {
            "tasks": {"type": "array", "items": "TaskRun"},
            "next_cursor": {"type": "string", "nullable": True},
            "names": {"type": "array", "items": {"type": "string"}},
        },
    },
    "TaskRunDetail": {
        "type": "object",
        "required": ["task"],
        "properties": {
            "task": {
                "allOf": [
                    "TaskRun",
                    {
                        "type": "object",
                        "required": ["timeline", "children", "group", "reruns", "replayable"],
                        "properties": {
                            "received_at": NULLABLE_MOMENT,
                            "started_at": NULLABLE_MOMENT,
                            "finished_at": NULLABLE_MOMENT,
                            "arguments": {"nullable": True},
                            "replayable": {"type": "boolean"},
                            "result": {"nullable": True},
                            "traceback": {"type": "string", "nullable": True},
                            "timeline": {"type": "array", "items": {"type": "object"}},
                            "children": {"type": "array", "items": "TaskRun"},
                            "group": {"type": "array", "items": "TaskRun"},
                            "reruns": {"type": "array", "items": "TaskRun"},
                        },
                    },
                ]
            }
        },
    },
    "Rerun": {
        "type": "object",
        "required": ["task_id", "retry_of"],
        "properties": {"task_id": {"type": "string"}, "retry_of": {"type": "string"}},
    },
    "RevokeInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"terminate": {"type": "boolean"}},
    },
    "Revoked": {
        "type": "object",
        "required": ["task_id", "action"],
        "properties": {
            "task_id": {"type": "string"},
            "action": {"type": "string", "enum": ["revoke", "terminate"]},
            "stopped": {"type": "boolean", "description": "terminate: its worker killed it"},
            "warning": {"type": "string", "description": "terminate: why it was not stopped"},
        },
    },
    "DailyReport": {
        "type": "object",
        "required": ["id", "day", "status", "sales", "error", "mailed_to"],
        "properties": {
            "id": ID,
            "day": {"type": "string", "format": "date"},
            "status": {"type": "string", "enum": ["running", "done", "failed"]},
            "sales": {"type": "array", "items": {"type": "object"}},
            "error": {"type": "string", "nullable": True},
            "mailed_to": {"type": "integer"},
            "started_at": MOMENT,
            "finished_at": NULLABLE_MOMENT,
        },
    },
    "Reminder": {
        "type": "object",
        "required": ["subscribed"],
        "properties": {
            "subscribed": {"type": "boolean"},
            "sent_already": {
                "type": "boolean",
                "description": "the reminders for this opening went out before you asked",
            },
        },
    },
    "ReminderRun": {
        "type": "object",
        "required": ["id", "status", "total", "sent", "failed", "skipped", "percent"],
        "properties": {
            "id": ID,
            "starts_at": MOMENT,
            "status": {"type": "string", "enum": ["running", "done", "failed"]},
            "total": {"type": "integer"},
            "sent": {"type": "integer"},
            "failed": {"type": "integer"},
            "skipped": {"type": "integer"},
            "percent": {"type": "integer"},
            "error": {"type": "string", "nullable": True},
            "started_at": MOMENT,
            "finished_at": NULLABLE_MOMENT,
        },
    },
    "ScheduleInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "task": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "a registered task (GET lists them)",
            },
            "args": {"type": "array"},
            "kwargs": {"type": "object"},
            "queue": {"type": "string", "maxLength": 200, "nullable": True},
            "kind": {"type": "string", "enum": list(KINDS)},
            "every_seconds": {
                "type": "number",
                "minimum": 1,
                "maximum": 366 * 86400,
                "nullable": True,
                "description": "interval",
            },
            "crontab": {
                "type": "string",
                "maxLength": 200,
                "nullable": True,
                "description": "minute hour day-of-month month day-of-week",
            },
            "timezone": {
                "type": "string",
                "maxLength": 64,
                "nullable": True,
                "description": "the crontab's zone, such as Europe/Berlin; else TIMEZONE",
            },
            "run_at": {**NULLABLE_MOMENT, "description": "once"},
            "enabled": {"type": "boolean"},
            "expires_at": NULLABLE_MOMENT,
            "description": {"type": "string", "maxLength": 500},
        },
    },  # fmt: skip
    "ScheduleEntry": {
        "type": "object",
        "required": [
            "id",
            "name",
            "task",
            "args",
            "kwargs",
            "kind",
            "enabled",
            "builtin",
            "total_runs",
            "next_run_at",
            "last_run_at",
        ],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "task": {"type": "string"},
            "args": {"type": "array"},
            "kwargs": {"type": "object"},
            "queue": {"type": "string", "nullable": True},
            "kind": {"type": "string", "enum": list(KINDS)},
            "every_seconds": {"type": "number", "nullable": True},
            "crontab": {"type": "string", "nullable": True},
            "timezone": {"type": "string", "nullable": True},
            "run_at": NULLABLE_MOMENT,
            "enabled": {"type": "boolean"},
            "expires_at": NULLABLE_MOMENT,
            "description": {"type": "string"},
            "builtin": {"type": "boolean"},
            "last_run_at": NULLABLE_MOMENT,
            "total_runs": {"type": "integer"},
            "next_run_at": NULLABLE_MOMENT,
            "problem": {
                "type": "string",
                "nullable": True,
                "description": "why beat skips it; null when it runs",
            },
        },
    },  # fmt: skip
    "ScheduleAnswer": {
        "type": "object",
        "required": ["entry"],
        "properties": {"entry": "ScheduleEntry"},
    },
    "ScheduleList": {
        "type": "object",
        "required": ["entries", "tasks"],
        "properties": {
            "entries": {"type": "array", "items": "ScheduleEntry"},
            "tasks": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Queues": {
        "type": "object",
        "required": ["queues", "broker"],
        "properties": {
            "queues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "consumers": {
                            "type": "integer",
                            "nullable": True,
                            "description": "null where the broker cannot count them (Redis)",
                        }
                    },
                },
            },
            "broker": {"type": "string"},
        },
    },
    "Workers": {
        "type": "object",
        "required": ["workers"],
        "properties": {"workers": {"type": "array", "items": {"type": "object"}}},
    },
    "AuditPage": {
        "type": "object",
        "required": ["entries", "next_before"],
        "properties": {
            "entries": {"type": "array", "items": {"type": "object"}},
            "next_before": {"type": "integer", "nullable": True},
        },
    },
}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}


RESPONSES = {
    "BadRequest": _error("The input is wrong; the message says how"),
    "NotLoggedIn": _error("Log in first"),
    "Forbidden": _error("Not allowed for this user"),
    "NotFound": _error("No such thing, or not yours"),
    "NotJson": _error("Writes take only a JSON body (Content-Type: application/json)"),
    "RateLimited": {
        **_error("Too many requests; wait Retry-After seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "Unavailable": {
        **_error("Redis or the database is briefly unavailable; retry after Retry-After"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


PATH_PARAMETER = r"<(?:(\w+):)?(\w+)>"  # werkzeug's <converter:name>
PATH_SCHEMAS = {"id": ID, "": {"type": "string", "maxLength": 64}}


def build_spec() -> dict:
    """The document for the current app: every /api route with a documented view."""
    spec = APISpec(
        title="Flash Shop API",
        version="1",
        openapi_version="3.0.3",
        plugins=[FlaskPlugin()],
        info={"description": 'Errors are {"error": {"code", "message"}}.'},
    )
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    admin_paths = set()
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/") or "---" not in (view.__doc__ or ""):
            continue
        parameters = [
            {"in": "path", "name": name, "required": True, "schema": PATH_SCHEMAS[converter]}
            for converter, name in re.findall(PATH_PARAMETER, rule.rule)
        ]
        spec.path(view=view, app=current_app, parameters=parameters)
        if getattr(view, "admin_only", False):
            admin_paths.add(re.sub(PATH_PARAMETER, r"{\2}", rule.rule))
    document = spec.to_dict()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "responses" in operation:
                _add_common_answers(operation, method, admin=path in admin_paths)
    return document


ANY_OBJECT = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}},
}


def _add_common_answers(operation: dict, method: str, admin: bool) -> None:
    """What the shared mechanisms answer, so no view has to repeat it: a write
    takes only a JSON object (415; one that needs no fields ignores them), a
    body can be wrong (400), admin_api refuses (401, 403), and any endpoint can
    be rate limited (429) or find Redis or the database down (503)."""
    responses = operation["responses"]
    if method.upper() in WRITE_METHODS:
        operation.setdefault("requestBody", ANY_OBJECT)
        responses.setdefault("415", {"$ref": "#/components/responses/NotJson"})
    if "requestBody" in operation:
        responses.setdefault("400", {"$ref": "#/components/responses/BadRequest"})
    if admin:
        operation.setdefault("security", [{"session": []}])
        responses.setdefault("401", {"$ref": "#/components/responses/NotLoggedIn"})
        responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
    responses.setdefault("429", {"$ref": "#/components/responses/RateLimited"})
    responses.setdefault("503", {"$ref": "#/components/responses/Unavailable"})


@bp.get("/api/openapi.json")
def openapi_json():
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build_spec()
    return jsonify(current_app.extensions["openapi"])
