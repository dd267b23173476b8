from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from blueprints.auth import sessions
from blueprints.auth.service import (
    CODE_LENGTH,
)
from blueprints.core.fields import is_site_path
from exts import db, login_manager
from models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not sessions.is_live(int(user_id), session.get("sid")):
        return None  # logged out, here or everywhere
    return db.session.get(User, int(user_id))


@bp.get("/login")
def login_page():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    config = current_app.config
    after_login = request.args.get("next", "/")
    return render_template(
        "login.html",
        after_login=after_login if is_site_path(after_login) else "/",
        send_wait=config["CODE_SEND_WAIT"],
        code_length=CODE_LENGTH,
        sms_enabled=bool(config["SMS_PROVIDERS"]),
    )
