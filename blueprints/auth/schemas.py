"""Login as the API reads and answers it."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext

from blueprints.auth.service import CODE_LENGTH, PURPOSES
from blueprints.auth.targets import CHANNELS
from blueprints.core.fields import Field, Flag, OneOf, Problem, Regexp, Schema, Text
from blueprints.core.openapi import ErrorSchema

CODE_FORMAT = Problem(
    lazy_gettext("Enter the %(length)d-digit code from the message.", length=CODE_LENGTH),
    "invalid_code_format",
    whole=True,
)
INVALID_CHANNEL = Problem("must be 'email' or 'sms'.", "invalid_channel")
INVALID_PURPOSE = Problem("must be 'login'.", "invalid_purpose")


class CodeRequestSchema(Schema):
    channel = Text(required=True, validate=OneOf(CHANNELS, INVALID_CHANNEL))
    target = Text(required=True, metadata={"description": "an e-mail address or a phone number"})
    purpose = Text(
        load_default="login",
        validate=OneOf(PURPOSES, INVALID_PURPOSE),
        error_messages={"null": INVALID_PURPOSE},
    )
    proof = ma.fields.String(
        validate=ma.validate.Length(max=2000),
        metadata={"description": "ALTCHA payload answering a 428's challenge"},
    )


class CodeSentSchema(Schema):
    task_id = ma.fields.String(required=True)
    resend_after = ma.fields.Integer(required=True)


class ChallengeSchema(Schema):
    algorithm = ma.fields.String(required=True)
    challenge = ma.fields.String(required=True)
    maxnumber = ma.fields.Integer(required=True)
    salt = ma.fields.String(required=True)
    signature = ma.fields.String(required=True)


class LoginCode(Field, ma.fields.String):
    """The code from the message: every way of getting it wrong is one error."""

    default_error_messages = dict.fromkeys(("required", "null", "invalid"), CODE_FORMAT)  # type: ignore[arg-type]


class LoginSchema(Schema):
    target = Text(required=True)
    code = LoginCode(required=True, validate=Regexp(f"^[0-9]{{{CODE_LENGTH}}}$", CODE_FORMAT))


class LogoutSchema(Schema):
    everywhere = Flag(load_default=False, metadata={"description": "end every session"})


class UserSchema(Schema):
    id = ma.fields.Integer(required=True)
    email = ma.fields.String(required=True, allow_none=True)
    phone = ma.fields.String(required=True, allow_none=True)
    is_admin = ma.fields.Boolean(required=True)


class UserAnswerSchema(Schema):
    user = ma.fields.Nested(UserSchema, required=True)


class ChallengeErrorSchema(ErrorSchema):
    challenge = ma.fields.Nested(ChallengeSchema, required=True)
