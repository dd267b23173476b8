"""Passwordless login with verification codes sent by mail or SMS."""

from blueprints.auth.api import blp
from blueprints.auth.views import bp

__all__ = ["blp", "bp"]
