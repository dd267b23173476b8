"""Transition only: the views not yet moved to schemas describe themselves in
YAML docstrings, with these shapes. Deleted once every view has moved."""

from __future__ import annotations

from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask

from blueprints.api import IdConverter
from blueprints.ops.history import STATES as TASK_STATES
from models.schedule import KINDS

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


ANY_OBJECT = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}},
}


def add_legacy_paths(spec, app: Flask) -> None:
    known = spec.components.schemas
    for name, schema in SCHEMAS.items():
        if name not in known:
            spec.components.schema(name, schema)
    spec.components.response("BadRequest", {"description": "The input is wrong",
        "content": {"application/json": {"schema": "Error"}}})  # fmt: skip
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/") or "---" not in (view.__doc__ or ""):
            continue
        operations = load_operations_from_docstring(view.__doc__ or "")
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if isinstance(parameter.get("schema"), str):
                    parameter["schema"] = {"$ref": f"#/components/schemas/{parameter['schema']}"}
            if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
                operation.setdefault("requestBody", ANY_OBJECT)
        spec.path(rule=rule, operations=operations, parameters=[])
