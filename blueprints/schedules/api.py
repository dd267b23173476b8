"""Beat's schedule as JSON: list, add, edit, delete, run now."""

from __future__ import annotations

from typing import Any

from blueprints.auth.access import admin_api
from blueprints.core.openapi import Blueprint
from blueprints.core.queueing import registered_tasks
from blueprints.jobs import QueuedSchema
from blueprints.schedules import service
from blueprints.schedules.schemas import (
    ScheduleAnswerSchema,
    ScheduleInputSchema,
    ScheduleListSchema,
)
from models import PeriodicEntry

blp = Blueprint(
    "schedules_api",
    __name__,
    url_prefix="/api/admin/schedules",
    description="Beat's schedule, edited live",
)


@blp.get("")
@admin_api
@blp.response(200, ScheduleListSchema, description="The entries, by name")
def list_entries():
    """Every periodic entry, with when beat sends it next."""
    return {"entries": service.list_entries(), "tasks": registered_tasks()}


@blp.post("")
@admin_api
@blp.arguments(ScheduleInputSchema)
@blp.response(201, ScheduleAnswerSchema, description="Added; beat sends it from its next due time")
@blp.alt_response(409, response="CONFLICT", description="The name is taken")
def create_entry(values: dict[str, Any]):
    """Add an entry: name, task, kind and that kind's timing are required."""
    return {"entry": service.save(PeriodicEntry(), values)}


@blp.patch("/<id:entry_id>")
@admin_api
@blp.arguments(ScheduleInputSchema(partial=True))
@blp.response(200, ScheduleAnswerSchema, description="Changed; beat has it within a second")
@blp.alt_response(409, response="CONFLICT", description="The name is taken")
def update_entry(values: dict[str, Any], entry_id: int):
    """Change some of an entry's fields; a new timing counts from now."""
    return {"entry": service.save(service.get_entry(entry_id), values)}


@blp.delete("/<id:entry_id>")
@admin_api
@blp.takes_no_body
@blp.response(204, description="Deleted")
@blp.alt_response(409, response="CONFLICT", description="One of the product's own entries")
def delete_entry(entry_id: int):
    """Delete an entry (the product's own can only be disabled)."""
    service.delete(service.get_entry(entry_id))


@blp.post("/<id:entry_id>/run")
@admin_api
@blp.takes_nothing
@blp.response(202, QueuedSchema, description="Sent")
@blp.alt_response(409, response="CONFLICT", description="Its task is not registered here")
def run_entry(entry_id: int):
    """Send the entry's task now; its schedule is unchanged."""
    return {"task_id": service.run_now(service.get_entry(entry_id))}
