"""Dates written in Spanish, German, French, Portuguese, Italian or Dutch, read by dateparser.

The recognisers only know English words, so "21. Dezember 2013" or "martes 21 de octubre"
would come back empty or, worse, as a bare clock time.  When the text names a month or a
weekday in one of these languages, dateparser reads it instead, and its answer is kept only
when it agrees with what the text itself says: the month it returns is the month named, and
the day of the month it returns is a number written in the text.  Anything else is dropped,
because a time read wrong becomes a booking at the wrong time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .context import Context

# Month names (full and the usual abbreviations) that are not also English month names.
_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "enero janvier januar januari gennaio janeiro jänner janv ene gen",
        "febrero février fevrier februar februari febbraio fevereiro févr fév fev",
        "marzo mars märz maerz maart março mär",
        "abril avril aprile",
        "mayo mai mei maggio maio mag",
        "junio juin juni giugno junho giu",
        "julio juillet juli luglio julho juil lug",
        "agosto août aout augustus ago",
        "septiembre septembre settembre setembro setiembre set sett",
        "octubre octobre oktober ottobre outubro okt ott out",
        "noviembre novembre november novembro nov",
        "diciembre décembre decembre dezember dicembre dezembro déc dez dic",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num
# English month words (and "nov", "set", "mag"...) collide with English text; only the names
# above that are not English words trigger the fallback.
_ENGLISH = {"november", "nov", "set", "out", "mag", "mar", "ago"}
_WEEKDAY_LINES = (
    "lunes martes miércoles miercoles jueves viernes sábado sabado domingo",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira",
    "lunedì martedì mercoledì giovedì venerdì",
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
)
_WEEKDAYS = [word for line in _WEEKDAY_LINES for word in line.split()]
_MONTH_WORD = re.compile(
    r"(?<![\w])("
    + "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
    + r")\.?(?!\w)"
)
_TRIGGER = re.compile(
    r"(?<![\w])(?:"
    + "|".join(sorted((re.escape(w) for w in _WEEKDAYS), key=len, reverse=True))
    + "|"
    + "|".join(sorted((re.escape(m) for m in _MONTHS if m not in _ENGLISH), key=len, reverse=True))
    + r"|uhr)(?!\w)"
)
_CLOCK = re.compile(r"\d{1,2}(?::|h|\.)\d{2}|\d\s*uhr|\d\s*[ap]\.?m\b")
_LANGUAGES = ["es", "de", "fr", "pt", "it", "nl", "en"]


def foreign_trigger(text: str) -> int | None:
    """Offset of the first month or weekday named in one of the languages above, if any."""
    m = _TRIGGER.search(text.lower())
    return m.start() if m else None


def read_foreign(text: str, ctx: Context) -> tuple[datetime, str] | None:
    """``(start, grain)`` for a foreign-language date, or ``None`` when unsure."""
    import dateparser  # deferred: a large import only the fallback needs

    low = text.lower()
    settings: dict[str, Any] = {
        "RELATIVE_BASE": ctx.now.replace(tzinfo=None),
        "TIMEZONE": ctx.tz_name,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
    }
    found = dateparser.parse(text, languages=_LANGUAGES, settings=settings)
    if found is None:
        return None
    month = _MONTH_WORD.search(low)
    if month is not None and _MONTHS[month.group(1)] != found.month:
        return None
    numbers = {int(n) for n in re.findall(r"\d{1,2}", low)}
    if month is not None and found.day not in numbers and found.day != 1:
        return None
    grain = "minute" if _CLOCK.search(low) else "day"
    return found.astimezone(ctx.tz), grain
