"""Proof of work for code requests: ALTCHA, self-hosted, no third-party service.

Once a target or a client is hot, a code request must carry the answer to a
challenge: the number n with SHA-256(salt + n) equal to the challenge. The
login page finds it in a second or two; a script hammering an address pays
that for every request. Challenges are signed (no server state) and expire;
each answer is accepted once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import altcha
from flask import current_app

from blueprints.auth.keys import challenge_used_key
from exts import redis_client

LIFETIME = 300  # seconds to solve a challenge and use the answer


def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"altcha-challenge", hashlib.sha256).digest()


def new_challenge() -> dict:
    """What the client solves, in the shape ALTCHA's widget and solvers read."""
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            hmac_key=_key(),
            max_number=current_app.config["CODE_CHALLENGE_COST"],
            expires=datetime.now(UTC) + timedelta(seconds=LIFETIME),
        )
    )
    return {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "maxnumber": challenge.max_number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }


def is_solved(proof: object) -> bool:
    """Whether ``proof`` (base64 JSON, ALTCHA's payload) answers an unexpired
    challenge of ours that no request has used yet."""
    if not isinstance(proof, str) or len(proof) > 2000:
        return False
    try:
        payload = json.loads(base64.b64decode(proof, validate=True))
    except (ValueError, binascii.Error):
        return False
    fields = ("algorithm", "challenge", "number", "salt", "signature")
    if not isinstance(payload, dict) or not all(name in payload for name in fields):
        return False
    if not isinstance(payload["number"], int) or not all(
        isinstance(payload[name], str) for name in fields if name != "number"
    ):
        return False
    solved, _ = altcha.verify_solution_v1(proof, _key(), check_expires=True)
    # Once only: SET NX fails for an answer a request already used.
    used = challenge_used_key(payload["signature"])
    return solved and bool(redis_client.set(used, 1, nx=True, ex=LIFETIME))
