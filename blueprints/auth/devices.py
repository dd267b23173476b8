"""Devices we know: set at login, the known-device cookie lists (as keyed
digests) the addresses that logged in on this device. Its code requests skip
a target's ceiling and the proof of work, so strangers hammering an address
cannot lock its owner out. It is signed: nobody can claim an address they
never logged in to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "known_device"
LIFETIME = 365 * 86400
REMEMBERED = 5  # addresses per device


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _digest(target: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, target.encode(), hashlib.sha256).hexdigest()[:32]


def _device() -> dict:
    try:
        device = _serializer().loads(request.cookies.get(COOKIE, ""))
    except BadSignature:
        return {}
    return device if isinstance(device, dict) else {}


def known_device(target: str) -> str | None:
    """This device's id if ``target`` has logged in on it before."""
    device = _device()
    if _digest(target) in device.get("targets", []):
        return device.get("id")
    return None


def remember(response: Response, target: str) -> None:
    """Add ``target`` to this device's known addresses (the latest few)."""
    device, digest = _device(), _digest(target)
    targets = [known for known in device.get("targets", []) if known != digest]
    value = {
        "id": device.get("id") or secrets.token_urlsafe(12),
        "targets": [*targets, digest][-REMEMBERED:],
    }
    response.set_cookie(
        COOKIE,
        _serializer().dumps(value),
        max_age=LIFETIME,
        secure=current_app.config["HTTPS"],
        httponly=True,
        samesite="Lax",
    )
