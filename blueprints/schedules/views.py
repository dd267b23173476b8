"""The /admin/schedules page and the JSON behind it."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from blueprints.auth.access import admin_api, admin_page
from blueprints.legacy_input import json_body
from blueprints.schedules import service
from models import PeriodicEntry
from models.schedule import KINDS

bp = Blueprint("schedules", __name__)


@bp.get("/admin/schedules")
@admin_page
def schedules_page():
    return render_template("admin/schedules.html", kinds=KINDS, tasks=service.registered_tasks())


@bp.get("/api/admin/schedules")
@admin_api
def list_entries():
    """Every periodic entry, with when beat sends it next.
    ---
    get:
      tags: [admin]
      responses:
        200:
          description: The entries, by name
          content: {application/json: {schema: ScheduleList}}
    """
    entries = [service.to_json(entry) for entry in service.list_entries()]
    return jsonify(entries=entries, tasks=service.registered_tasks())


@bp.post("/api/admin/schedules")
@admin_api
def create_entry():
    """Add an entry: name, task, kind and that kind's timing are required.
    ---
    post:
      tags: [admin]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf: [ScheduleInput, {type: object, required: [name, task, kind]}]
      responses:
        201:
          description: Added; beat sends it from its next due time
          content: {application/json: {schema: ScheduleAnswer}}
        409:
          description: The name is taken
          content: {application/json: {schema: Error}}
    """
    entry = service.save(PeriodicEntry(), service.clean(json_body(), partial=False))
    return jsonify(entry=service.to_json(entry)), 201


@bp.patch("/api/admin/schedules/<id:entry_id>")
@admin_api
def update_entry(entry_id: int):
    """Change some of an entry's fields; a new timing counts from now.
    ---
    patch:
      tags: [admin]
      requestBody:
        required: true
        content: {application/json: {schema: ScheduleInput}}
      responses:
        200:
          description: Changed; the running beat has it within a second or two
          content: {application/json: {schema: ScheduleAnswer}}
        404: NotFound
        409:
          description: The name is taken
          content: {application/json: {schema: Error}}
    """
    values = service.clean(json_body(), partial=True)
    entry = service.save(service.get_entry(entry_id), values)
    return jsonify(entry=service.to_json(entry))


@bp.delete("/api/admin/schedules/<id:entry_id>")
@admin_api
def delete_entry(entry_id: int):
    """Delete an entry (the product's own can only be disabled).
    ---
    delete:
      tags: [admin]
      responses:
        204: {description: Deleted}
        404: NotFound
        409:
          description: One of the product's own entries
          content: {application/json: {schema: Error}}
    """
    service.delete(service.get_entry(entry_id))
    return "", 204


@bp.post("/api/admin/schedules/<id:entry_id>/run")
@admin_api
def run_entry(entry_id: int):
    """Send the entry's task now; its schedule is unchanged.
    ---
    post:
      tags: [admin]
      responses:
        202:
          description: Sent
          content:
            application/json:
              schema: {type: object, required: [task_id], properties: {task_id: {type: string}}}
        404: NotFound
        409:
          description: Its task is not registered here
          content: {application/json: {schema: Error}}
    """
    return jsonify(task_id=service.run_now(service.get_entry(entry_id))), 202
