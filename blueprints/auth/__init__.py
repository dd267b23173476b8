"""Passwordless login with verification codes sent by mail or SMS."""

from flask import Flask

from blueprints.auth.api import blp
from blueprints.auth.pages import bp
from blueprints.auth.sms import PROVIDERS


def init_app(app: Flask) -> None:
    """Refuse to start with an SMS provider nobody wrote (a typo in SMS_PROVIDER)."""
    unknown = set(app.config["SMS_PROVIDERS"]) - set(PROVIDERS)
    if unknown:
        raise ValueError(f"SMS_PROVIDER names unknown providers: {', '.join(sorted(unknown))}")


__all__ = ["blp", "bp", "init_app"]
