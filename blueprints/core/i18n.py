"""Languages (English, Simplified Chinese), the shop's times and money, as
shoppers read them. Flask-Babel does the work; catalogues live in translations/.

The language is the footer's choice (a cookie), else the browser's
Accept-Language. A logged-in user's choice is also saved on the account, so
mails and SMS sent later by a worker (reminders) speak it too.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_timezone_name
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from flask import Blueprint, current_app, has_request_context, redirect, request
from flask_babel import get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from blueprints.core.fields import is_site_path
from exts import db
from models.types import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("i18n", __name__)

LANGUAGES = {"en": "English", "zh_Hans": "中文"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"


def N_(text: str) -> str:
    """Marks ``text`` for the catalogue, unchanged: stored in English (a worker
    writes it), it is translated with gettext() where it is shown."""
    return text


def choose_language(value: str | None) -> str | None:
    """One of LANGUAGES for a language tag such as 'zh-CN', or None."""
    if not value:
        return None
    tag = value.replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_Hans"  # the only Chinese we have: better than English for zh-TW too
    if tag.startswith("en"):
        return "en"
    return None


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE  # a task speaks the user's language through force_locale
    chosen = choose_language(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    for tag, _quality in request.accept_languages:
        chosen = choose_language(tag)
        if chosen:
            return chosen
    return DEFAULT_LANGUAGE


def language() -> str:
    """The language of this request (or of ``force_locale`` in a task)."""
    locale = get_locale()
    return "zh_Hans" if locale is not None and locale.language == "zh" else "en"


@bp.post("/language")
def switch_language() -> Response:
    """The footer's switch: remembered in a cookie for a year, and on the account."""
    chosen = choose_language(request.form.get("lang")) or DEFAULT_LANGUAGE
    back = request.form.get("next") or "/"
    response = redirect(back if is_site_path(back) else "/")
    response.set_cookie(COOKIE, chosen, max_age=365 * 86400, samesite="Lax",
                        secure=current_app.config["HTTPS"], httponly=True)  # fmt: skip
    if current_user.is_authenticated and current_user.locale != chosen:
        current_user.locale = chosen
        db.session.commit()
    return response


@bp.after_app_request
def vary_by_language(response: Response) -> Response:
    """One address, a page per language: shared caches must keep them apart."""
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


# Times and money: one format everywhere, in the shop's zone, named.


def shop_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def shop_time(moment: datetime | str) -> str:
    """'Dec 2, 2026, 12:43 China Standard Time (UTC+8)', in the page's language."""
    local = _local(moment)
    clock = format_skeleton("Hm", local, locale=get_locale())
    return f"{_on_day(local, clock)} {zone_label(local)}"


def shop_span(start: datetime | str, end: datetime | str) -> str:
    """A sale's window: 'Dec 2, 2026, 21:00–22:00 China Standard Time (UTC+8)'
    on one day, else both times in full."""
    start, end = (_local(moment) for moment in (start, end))
    if start.date() != end.date():
        return f"{shop_time(start)} – {shop_time(end)}"
    hours = "–".join(format_skeleton("Hm", moment, locale=get_locale()) for moment in (start, end))
    return f"{_on_day(start, hours)} {zone_label(start)}"


def _on_day(local: datetime, clock: str) -> str:
    """``clock`` on ``local``'s date, as the language joins them: 'Dec 2, 2026, 12:43'."""
    locale = get_locale()
    date = format_skeleton("yMMMd", local, locale=locale)
    return str(locale.datetime_formats["medium"]).format(clock, date)  # '{1}, {0}' in English


def _local(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(shop_zone())


def zone_label(local: datetime) -> str:
    """The zone's name with its offset: 'China Standard Time (UTC+8)'."""
    name = get_timezone_name(local, width="long", locale=get_locale())
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return f"{name} ({utc})"


def money(cents: int) -> str:
    """'¥49.00': the shop sells in yuan, whatever the language."""
    return "¥" + format_decimal(cents / 100, format="#,##0.00", locale="en")


# The messages the pages' JavaScript shows: every t("...") and tn("...", "...")
# call in static/, found the way pybabel finds them, translated per request.


@cache
def script_messages(static_folder: str) -> tuple[tuple[str, ...], ...]:
    found: dict[tuple[str, ...], None] = {}
    for path in sorted(Path(static_folder).glob("*.js")):
        for _line, message, _comments, _context in extract_from_file(
            "javascript", str(path), keywords={"t": None, "tn": (1, 2)}
        ):
            found[message if isinstance(message, tuple) else (message,)] = None
    return tuple(found)


def translated_script_messages() -> dict[str, str | list[str]]:
    """English text → this language's text; a plural → [one, other]."""
    if language() == DEFAULT_LANGUAGE:
        return {}
    catalogue: dict[str, str | list[str]] = {}
    for message in script_messages(str(current_app.static_folder)):
        if len(message) == 2:
            catalogue[message[0]] = [ngettext(*message, num=1), ngettext(*message, num=2)]
        else:
            catalogue[message[0]] = gettext(message[0])
    return catalogue


SALE_STATES = {
    "upcoming": lazy_gettext("Upcoming"),
    "open": lazy_gettext("Open now"),
    "paused": lazy_gettext("Paused, back in a moment"),  # after a Redis failover
    "sold_out": lazy_gettext("Sold out"),
    "ended": lazy_gettext("Ended"),
    "closed": lazy_gettext("Closed"),
}


def template_context() -> dict:
    return {
        "languages": LANGUAGES,
        "sale_state_label": lambda state: SALE_STATES[state],
        "language": language(),
        "script_messages": translated_script_messages,
        "shop_zone_label": lambda: zone_label(utcnow().astimezone(shop_zone())),
    }


def compile_catalogues(directory: Path) -> None:
    """Compile each catalogue (``.po``) whose ``.mo`` is missing or older, so
    every way of running the shop (a checkout, an editable install) speaks
    Chinese; a wheel ships them compiled (setup.py). Written aside and moved
    into place: the web, worker and beat processes may start at once."""
    for po in directory.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with po.open("rb") as source:
                catalogue = read_po(source)
            partial = mo.with_name(f"{mo.name}.{os.getpid()}")
            with partial.open("wb") as target:
                write_mo(target, catalogue)
            os.replace(partial, mo)
        except OSError as error:  # a read-only install: it should have shipped them
            log.warning("cannot compile %s, pages in its language show English: %s", po, error)
