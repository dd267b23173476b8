"""Who may use the admin pages and API: users whose e-mail is in ADMIN_EMAILS."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, session
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.auth import sessions
from blueprints.core.api import Refused
from exts import login_manager


def admin_api(view):
    """401 for anonymous callers, 403 for users who are not administrators (JSON)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Refused("not_logged_in", _("Log in first."))
        if not current_user.is_admin:
            raise Refused("forbidden", _("Only administrators may do this."))
        return view(*args, **kwargs)

    wrapper.guard = "admin"  # type: ignore[attr-defined]  # read by blueprints/openapi.py
    return wrapper


def login_api(view):
    """401 unless the session is live; the view reads the user's id from
    ``g.user_id`` (the database is not asked)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.user_id = session_user_id()
        if g.user_id is None:
            raise Refused("not_logged_in", _("Log in first."))
        return view(*args, **kwargs)

    wrapper.guard = "login"  # type: ignore[attr-defined]  # read by blueprints/openapi.py
    return wrapper


def admin_page(view):
    """Anonymous visitors go to the login page (and come back); other users get 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403, _("This page is for administrators."))
        return view(*args, **kwargs)

    return wrapper


def session_identity() -> tuple[int, str] | None:
    """(user id, session id) from the signed session cookie, unchecked: the
    flash-sale gate checks the session inside its own Lua call."""
    user_id, session_id = session.get("_user_id"), session.get("sid")
    if not (user_id and str(user_id).isdigit() and session_id):
        return None
    return int(user_id), session_id


def session_user_id() -> int | None:
    """The logged-in user's id, if the session is live, without loading the
    user from the database."""
    identity = session_identity()
    if identity is None or not sessions.is_live(*identity):
        return None
    return identity[0]
