"""Where a code goes: an e-mail address or a mobile number, checked and put
in the one form the rules and the accounts key on."""

from __future__ import annotations

from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from blueprints.core.i18n import N_

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")


class InvalidTarget(ValueError):
    """The e-mail address or phone number cannot receive a code."""


# What is wrong with an address, in English; the API answers it translated.
BAD_EMAIL = N_("Enter a valid e-mail address, such as name@example.com.")
NON_ASCII_NAME = N_(
    "Use only Latin letters, digits and . _ - before the @: many mail servers take nothing else."
)
BAD_PHONE = N_("Enter a valid mobile number, such as 138 0013 8000 or +86 138 0013 8000.")


def normalize_email(raw: str) -> str:
    """The address as mail servers take it: a non-ASCII domain in its IDNA form
    (xn--), and a non-ASCII name refused, since many servers lack SMTPUTF8."""
    try:
        address = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
        return (address.ascii_email or address.normalized).lower()
    except EmailNotValidError as error:
        if "before the @" in str(error):
            raise InvalidTarget(NON_ASCII_NAME) from None
        raise InvalidTarget(BAD_EMAIL) from None


def normalize_phone(raw: str, default_region: str) -> str:
    """The number in E.164 form (+8613800138000)."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidTarget(BAD_PHONE) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidTarget(BAD_PHONE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_target(channel: Channel, raw: str, default_region: str) -> str:
    if channel == "email":
        return normalize_email(raw)
    return normalize_phone(raw, default_region)


def channel_of(target: str) -> Channel:
    return "email" if "@" in target else "sms"


def mask(target: str) -> str:
    """Enough of a target to recognise it in a log or a task result."""
    if "@" in target:
        name, domain = target.split("@", 1)
        return f"{name[:1]}***@{domain}"
    return f"{target[:4]}****{target[-2:]}"
