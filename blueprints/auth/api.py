"""Login's JSON API: ask for a code, log in with it, log out, who am I."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_login import current_user, login_user, logout_user

from blueprints.auth import challenge, devices, sessions, tasks
from blueprints.auth.access import login_api, session_identity
from blueprints.auth.schemas import (
    ChallengeErrorSchema,
    CodeRequestSchema,
    CodeSentSchema,
    LoginSchema,
    LogoutSchema,
    UserAnswerSchema,
)
from blueprints.auth.service import SendRefused, code_store, login_user_for
from blueprints.auth.targets import InvalidTarget, channel_of, normalize_target
from blueprints.core.api import Refused
from blueprints.core.i18n import language
from blueprints.core.openapi import Blueprint
from blueprints.core.queueing import queue_or_log
from blueprints.jobs import browser_id, task_owner
from exts import limiter

blp = Blueprint(
    "auth_api", __name__, url_prefix="/api", description="Login with a code sent by mail or SMS"
)

REFUSALS = {
    "cooldown": lazy_gettext(
        "A code is on its way. Wait for it, or ask again when the button counts down to zero."
    ),
    "too_many_codes": lazy_gettext(
        "Too many codes were asked for this address lately. Wait a few minutes (the button"
        " counts down), or log in on a device you used before."
    ),
    "target_limit": lazy_gettext(
        "This address got too many codes today. Log in on a device you used before,"
        " or try again tomorrow."
    ),
    "budget_exhausted": lazy_gettext(
        "We can't send text messages right now. Log in with your e-mail address instead."
    ),
}


def _target(raw: str, channel) -> str:
    try:
        return normalize_target(channel, raw, current_app.config["PHONE_DEFAULT_REGION"])
    except InvalidTarget as error:
        raise Refused("invalid_target", _(str(error)), "target") from None


def _could_send(response) -> bool:
    return response.status_code not in (400, 428)


@blp.post("/codes")
# A typo (400) or a challenge (428) costs nothing: only requests that could send count.
@limiter.limit(lambda: current_app.config["CODE_IP_LIMIT"], deduct_when=_could_send)
@blp.arguments(CodeRequestSchema)
@blp.response(202, CodeSentSchema, description="The code is on its way")
@blp.alt_response(
    428, schema=ChallengeErrorSchema, description="Solve the challenge, send its proof"
)
@blp.alt_response(429, response="RateLimited")
def request_code(body: dict[str, Any]):
    """Send a one-time login code by e-mail or SMS; poll the task for the send."""
    channel = body["channel"]
    target = _target(body["target"], channel)
    # No account lookup here: the answer must not tell whether one exists.
    device = devices.known_device(target)
    try:
        issued = code_store().issue(
            channel,
            target,
            body["purpose"],
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
        message = REFUSALS[refused.reason]
        raise Refused(refused.reason, message, retry_after=refused.retry_after) from None
    if issued.kick:
        queue_or_log(tasks.dispatch_code_sends)  # else the send waits for beat's sweep
    return {"task_id": issued.task_id, "resend_after": issued.resend_after}


@blp.post("/login")
@limiter.limit(lambda: current_app.config["LOGIN_IP_LIMIT"])
@blp.arguments(LoginSchema)
@blp.response(200, UserAnswerSchema, description="Logged in; the answer sets the session cookie")
def login(body: dict[str, Any]):
    """Log in with the code that was sent."""
    target = _target(body["target"], channel_of(body["target"]))
    tried = code_store().try_code(target, "login", body["code"], holder=browser_id())
    if tried.verdict == "wrong":  # only the browser the code was sent to is told this
        message = ngettext(
            "That code is not right. You can try %(num)d more time.",
            "That code is not right. You can try %(num)d more times.",
            tried.tries_left,
        )
        raise Refused("wrong_code", message, "code")
    if tried.verdict == "burned":
        message = _("That was the last try for this code. Ask for a new one.")
        raise Refused("invalid_code", message, "code")
    if tried.verdict != "ok":  # expired, used, never sent, another browser's: one answer
        message = _("This code no longer works (used, expired or replaced). Ask for a new one.")
        raise Refused("invalid_code", message, "code")
    user = login_user_for(target)
    browser = browser_id()
    session.clear()  # a fresh session: nothing from before the login carries over...
    session["browser"] = browser  # ...but the browser's tasks stay readable
    login_user(user)
    session["sid"] = sessions.start(user.id)
    session.permanent = True
    response = jsonify(UserAnswerSchema().dump({"user": user}))
    devices.remember(response, target)
    return response


@blp.post("/logout")
@blp.arguments(LogoutSchema)
@blp.response(204, description="Logged out")
def logout(body: dict[str, Any]):
    """End this session, or with ``{"everywhere": true}`` every session of the user."""
    identity = session_identity()
    if identity is not None:
        user_id, session_id = identity
        if body["everywhere"]:
            sessions.end_all(user_id)
        else:
            sessions.end(user_id, session_id)
    logout_user()
    session.clear()


@blp.get("/me")
@login_api
@blp.response(200, UserAnswerSchema)
def me():
    """The logged-in user."""
    return {"user": current_user}
