from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_user, logout_user

from blueprints.api import ApiError
from blueprints.auth import challenge, devices, sessions, tasks
from blueprints.auth.access import session_identity
from blueprints.auth.service import (
    CHANNELS,
    CODE_LENGTH,
    PURPOSES,
    InvalidTarget,
    SendRefused,
    channel_of,
    code_store,
    login_user_for,
    normalize_target,
)
from blueprints.i18n import language
from blueprints.jobs import browser_id, task_owner
from blueprints.legacy_input import is_site_path, json_body, string_field
from blueprints.queueing import queue_or_log
from exts import db, limiter, login_manager
from models import User

bp = Blueprint("auth", __name__)

REFUSALS = {
    "cooldown": (429, lazy_gettext(
        "A code is on its way. Wait for it, or ask again when the button counts down to zero."
    )),
    "too_many_codes": (429, lazy_gettext(
        "Too many codes were asked for this address lately. Wait a few minutes (the button"
        " counts down), or log in on a device you used before."
    )),
    "target_limit": (429, lazy_gettext(
        "This address got too many codes today. Log in on a device you used before,"
        " or try again tomorrow."
    )),
    "budget_exhausted": (503, lazy_gettext(
        "We can't send text messages right now. Log in with your e-mail address instead."
    )),
}  # fmt: skip


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not sessions.is_live(int(user_id), session.get("sid")):
        return None  # logged out, here or everywhere
    return db.session.get(User, int(user_id))


def _target(raw: str, channel) -> str:
    try:
        return normalize_target(channel, raw, current_app.config["PHONE_DEFAULT_REGION"])
    except InvalidTarget as error:
        raise ApiError(400, "invalid_target", _(str(error))) from None


def _could_send(response) -> bool:
    return response.status_code not in (400, 428)


@bp.post("/api/codes")
# A typo (400) or a challenge (428) costs nothing: only requests that could send count.
@limiter.limit(lambda: current_app.config["CODE_IP_LIMIT"], deduct_when=_could_send)
def request_code():
    """Send a one-time login code by e-mail or SMS; poll the task for the send.
    ---
    post:
      tags: [login]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [channel, target]
              properties:
                channel: {type: string, enum: [email, sms]}
                target: {type: string, minLength: 1, maxLength: 320}
                purpose: {type: string, enum: [login]}
                proof: {type: string, description: "ALTCHA payload answering a 428's challenge"}
      responses:
        202:
          description: The code is on its way
          content:
            application/json:
              schema:
                type: object
                required: [task_id, resend_after]
                properties:
                  task_id: {type: string}
                  resend_after: {type: integer}
        428:
          description: Many codes were asked for lately; solve the challenge, send its proof
          content:
            application/json:
              schema:
                allOf:
                  - Error
                  - type: object
                    required: [challenge]
                    properties:
                      challenge:
                        type: object
                        required: [algorithm, challenge, maxnumber, salt, signature]
                        properties:
                          algorithm: {type: string}
                          challenge: {type: string}
                          maxnumber: {type: integer}
                          salt: {type: string}
                          signature: {type: string}
    """
    body = json_body()
    channel = string_field(body, "channel")
    if channel not in CHANNELS:
        raise ApiError(400, "invalid_channel", "'channel' must be 'email' or 'sms'.")
    purpose = body.get("purpose", "login")
    if purpose not in PURPOSES:
        raise ApiError(400, "invalid_purpose", "'purpose' must be 'login'.")
    target = _target(string_field(body, "target"), channel)

    # No account lookup here: the answer must not tell whether one exists.
    device = devices.known_device(target)
    try:
        issued = code_store().issue(
            channel,
            target,
            purpose,
            owner=task_owner,
            holder=browser_id(),
            requester=f"device:{device}" if device else f"ip:{request.remote_addr}",
            trusted=device is not None,
            proven=challenge.is_solved(body.get("proof")),
            locale=language(),
        )
    except SendRefused as refused:
        if refused.reason == "challenge":
            message = _("Many codes were asked for lately: solve the challenge and ask again.")
            error = {"code": "challenge_required", "message": message}
            return jsonify(error=error, challenge=challenge.new_challenge()), 428
        status, message = REFUSALS[refused.reason]
        raise ApiError(status, refused.reason, message, refused.retry_after) from None
    if issued.kick:
        queue_or_log(tasks.dispatch_code_sends)  # else the send waits for beat's sweep
    return jsonify(task_id=issued.task_id, resend_after=issued.resend_after), 202


@bp.post("/api/login")
@limiter.limit(lambda: current_app.config["LOGIN_IP_LIMIT"])
def login():
    """Log in with the code that was sent; the answer sets the session cookie.
    ---
    post:
      tags: [login]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [target, code]
              properties:
                target: {type: string, minLength: 1, maxLength: 320}
                code: {type: string, pattern: '^[0-9]{6}$'}
      responses:
        200:
          description: Logged in
          content:
            application/json:
              schema: {type: object, required: [user], properties: {user: User}}
    """
    body = json_body()
    raw_target = string_field(body, "target")
    code = body.get("code")
    if (
        not isinstance(code, str)
        or len(code) != CODE_LENGTH
        or not (code.isascii() and code.isdigit())
    ):
        message = _("Enter the %(length)d-digit code from the message.", length=CODE_LENGTH)
        raise ApiError(400, "invalid_code_format", message)
    target = _target(raw_target, channel_of(raw_target))
    if not code_store().check(target, "login", code, holder=browser_id()):
        raise ApiError(400, "invalid_code", _("This code didn't work. Ask for a new one."))
    user = login_user_for(target)
    browser = browser_id()
    session.clear()  # a fresh session: nothing from before the login carries over...
    session["browser"] = browser  # ...but the browser's tasks stay readable
    login_user(user)
    session["sid"] = sessions.start(user.id)
    session.permanent = True
    response = jsonify(user=user.to_json())
    devices.remember(response, target)
    return response


@bp.post("/api/logout")
def logout():
    """End this session, or with ``{"everywhere": true}`` every session of the user.
    ---
    post:
      tags: [login]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                everywhere: {type: boolean}
      responses:
        204: {description: Logged out}
    """
    body = json_body()  # JSON only: browsers cannot send it cross-site without CORS
    everywhere = body.get("everywhere", False)
    if not isinstance(everywhere, bool):
        raise ApiError(400, "invalid_field", "'everywhere' must be true or false.")
    identity = session_identity()
    if identity is not None:
        user_id, session_id = identity
        if everywhere:
            sessions.end_all(user_id)
        else:
            sessions.end(user_id, session_id)
    logout_user()
    session.clear()
    return "", 204


@bp.get("/api/me")
def me():
    """The logged-in user.
    ---
    get:
      tags: [login]
      security: [{session: []}]
      responses:
        200:
          description: The user
          content:
            application/json:
              schema: {type: object, required: [user], properties: {user: User}}
        401: NotLoggedIn
    """
    if not current_user.is_authenticated:
        raise ApiError(401, "not_logged_in", "Log in first.")
    return jsonify(user=current_user.to_json())


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
