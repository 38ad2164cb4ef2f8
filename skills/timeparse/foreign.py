"""Dates written in Spanish, German, French, Portuguese, Italian or Dutch, read by dateparser.

The recognisers only know English words, so "21. Dezember 2013" or "martes 21 de octubre"
would come back empty or, worse, as a bare clock time.  When the text names a month or a
weekday in one of these languages, dateparser reads it instead, and its answer is checked the
way the English rules check themselves: the month it returns must be the month named, the day
of the month a number written in the text, the weekday the weekday named; a date without a
year is the next one to come, and a weekday alone the next such day after today.  Anything
that fails a check is dropped, because a time read wrong becomes a booking at the wrong time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from .calendar_math import safe_date
from .context import Context

# Month names and the usual abbreviations, then weekday names, per language.
_MONTH_NAMES = {
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro "
    "dezembro",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}
_MONTH_ABBREVIATIONS = {
    "ene": 1, "janv": 1, "jän": 1, "févr": 2, "fév": 2, "fev": 2, "mär": 3, "avr": 4,
    "abr": 4, "giu": 6, "lug": 7, "juil": 7, "ago": 8, "août": 8, "aout": 8,
    "setiembre": 9, "sept": 9, "sett": 9, "okt": 10, "ott": 10, "dez": 12, "déc": 12,
    "dic": 12, "jänner": 1, "maerz": 3,
}  # fmt: skip
_WEEKDAY_NAMES = {
    "es": "lunes martes miércoles jueves viernes sábado domingo",
    "de": "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "pt": "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira sábado domingo",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
}
_MONTHS: dict[str, int] = dict(_MONTH_ABBREVIATIONS)
_WEEKDAYS: dict[str, int] = {"miercoles": 2, "sabado": 5}
_LANGUAGE_OF: dict[str, set[str]] = {"uhr": {"de"}, "uur": {"nl"}}
for _lang, _names in _MONTH_NAMES.items():
    for _num, _name in enumerate(_names.split(), start=1):
        _MONTHS[_name] = _num
        _LANGUAGE_OF.setdefault(_name, set()).add(_lang)
for _lang, _names in _WEEKDAY_NAMES.items():
    for _num, _name in enumerate(_names.split()):
        _WEEKDAYS[_name] = _num
        _LANGUAGE_OF.setdefault(_name, set()).add(_lang)

# Words that are also English ("april", "november", "set", "out") never trigger the fallback:
# the English rules read those.  Everything else does.
_ENGLISH = {"april", "august", "september", "november", "december", "ago", "mar", "set", "sett"}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH_WORD = re.compile(r"(?<!\w)(" + _alternation(list(_MONTHS)) + r")\.?(?!\w)")
_WEEKDAY_WORD = re.compile(r"(?<!\w)(" + _alternation(list(_WEEKDAYS)) + r")(?![\w-])")
_TRIGGER = re.compile(
    r"(?<!\w)(?:"
    + _alternation([w for w in (*_MONTHS, *_WEEKDAYS) if w not in _ENGLISH])
    + r"|uhr|uur)(?!\w)"
)
# Clock notations dateparser misreads ("15 Uhr" as the 15th) and the little words around
# dates that make it give up ("a las", "alle", "um", "om"), rewritten before it reads.
_AT = r"(?:a\s+las|a\s+la|alle|às|um|om|vers|verso|gegen)"
_HOUR_WORD = r"(?:uhr|uur|h)"
_REWRITES = (
    (
        re.compile(rf"\b(\d{{1,2}})(?:h|[.:](?=\d\d\s*{_HOUR_WORD}\b))(\d{{2}})(?:\s*{_HOUR_WORD}\b)?"),
        r" \1:\2 ",
    ),
    (re.compile(r"(?<![\d:.])\b(\d{1,2})\s*(?:uhr|uur|h)(?![\w:])"), r" \1:00 "),
    (re.compile(rf"\b(?:{_AT}|à)\s+(\d{{1,2}})(?![\d:]|\.\d)"), r" \1:00 "),
    (re.compile(rf"\b(?:{_AT}|el|il|le|la|am|op|na|no|den)\b"), " "),
)  # fmt: skip
# An English weekday next to a foreign date ("Wednesday, 3 juni") is checked, not read:
# dateparser reads one language at a time.
_ENGLISH_WEEKDAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b,?")
_ENGLISH_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"\d:\d\d|\d\s*[ap]\.?m\b")
_YEAR = re.compile(r"\b\d{4}\b|\d[./-]\d{1,2}[./-]\d{2}\b")
_LANGUAGES = ["es", "de", "fr", "pt", "it", "nl"]


_LITTLE_WORD = r"(?:de|del|el|le|la|il|am|um|om|op|à|às|a\s+las|a\s+la|alle|den|der)"
_DATEISH = (
    r"(?:\d{1,4}(?:[.:/h-]\d{1,2}){0,2}(?:h|\.)?|"
    + _alternation([*_MONTHS, *_WEEKDAYS, *_ENGLISH_DAYS])
    + rf"|uhr|uur|h|{_LITTLE_WORD})(?!\w)"
)
_WINDOW = re.compile(rf"(?<!\w)(?:{_DATEISH}[\s,]*)+")
_LEAD = re.compile(rf"(?:{_LITTLE_WORD}(?!\w)[\s,]*)+")
_TAIL = re.compile(rf"(?:[\s,]+{_LITTLE_WORD})*[\s,]*$")


def foreign_windows(text: str) -> list[tuple[int, int]]:
    """Spans of runs of date words and numbers that hold a foreign month or weekday.

    In free text the fallback reads each run on its own ("el martes a las 10" inside a
    sentence), never the whole message.
    """
    low = text.lower()
    spans = []
    for run in _WINDOW.finditer(low):
        if _TRIGGER.search(run.group(0)) is None:
            continue
        start, end = run.span()
        lead = _LEAD.match(low, start, end)
        if lead is not None:
            start = lead.end()
        tail = _TAIL.search(low, start, end)
        if tail is not None:
            end = tail.start()
        if end > start:
            spans.append((start, end))
    return spans


def foreign_trigger(text: str) -> int | None:
    """Offset of the first month, weekday or "Uhr" in one of the languages above, if any."""
    m = _TRIGGER.search(text.lower())
    return m.start() if m else None


def read_foreign(text: str, ctx: Context) -> tuple[datetime, str] | None:
    """``(start, grain)`` for a foreign-language date, or ``None`` when unsure."""
    import dateparser  # deferred: a large import only the fallback needs

    low = text.lower()
    languages = sorted({lang for w in _TRIGGER.findall(low) for lang in _LANGUAGE_OF.get(w, ())})
    english_day = _ENGLISH_WEEKDAY.search(low)
    cleaned = _ENGLISH_WEEKDAY.sub(" ", low)
    for pattern, replacement in _REWRITES:
        cleaned = pattern.sub(replacement, cleaned)
    settings: dict[str, Any] = {
        "RELATIVE_BASE": ctx.now.replace(tzinfo=None),
        "TIMEZONE": ctx.tz_name,
        "RETURN_AS_TIMEZONE_AWARE": True,
    }
    found = dateparser.parse(
        " ".join(cleaned.split()), languages=languages or _LANGUAGES, settings=settings
    )
    if found is None:
        return None
    found = found.astimezone(ctx.tz)
    day = _checked_day(low, cleaned, found.date(), ctx.today)
    if day is None:
        return None
    if english_day is not None and day.weekday() != _ENGLISH_DAYS.index(english_day.group(1)):
        return None
    start = datetime.combine(day, found.timetz()) if day != found.date() else found
    return start, "minute" if _CLOCK.search(cleaned) else "day"


def _checked_day(low: str, cleaned: str, day: date, today: date) -> date | None:
    month = _MONTH_WORD.search(low)
    weekday = _WEEKDAY_WORD.search(low)
    if month is not None:
        if _MONTHS[month.group(1)] != day.month:
            return None
        if day.day != 1 and day.day not in {int(n) for n in re.findall(r"\d{1,2}", low)}:
            return None
        if day < today and not _YEAR.search(low):
            day = safe_date(day.year + 1, day.month, day.day) or day  # the next one to come
    elif weekday is not None and day <= today and not re.search(r"\d[./-]\d", cleaned):
        # A weekday alone is the next one after today, as in English.
        day += timedelta(days=7 * ((today - day).days // 7 + 1))
    if weekday is not None and _WEEKDAYS[weekday.group(1)] != day.weekday():
        return None
    return day
