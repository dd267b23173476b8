"""The audit log: who did what, when. Written in the same transaction as the
change it describes, so neither exists without the other."""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context
from flask_login import current_user

from exts import db
from models import AuditEntry


def audit(action: str, target: str, **detail: Any) -> None:
    """Add an entry for the current user's ``action`` on ``target`` to the session;
    the caller's commit writes it."""
    # Outside a request (a flask command, a task) the actor is the system.
    signed_in = has_request_context() and current_user.is_authenticated
    actor = current_user.email if signed_in else "system"
    text = json.dumps(detail, default=str, ensure_ascii=False) if detail else None
    db.session.add(AuditEntry(actor=actor, action=action, target=target, detail=text))
