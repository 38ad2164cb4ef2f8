"""When someone who is away is back: one rule for a person's note and for an auto-reply.

The writer is back the morning after their last day away, and on the morning of the day they
say they return: "through Friday", "thru Thursday" and a day named with no return word ("I am
off on Wednesday") name a day still away, so they are back the day after, as after a stretch
("out the rest of the week": back on Monday); "back on Monday",
"until Monday", "returning Monday" name the day back. A day after the last one away that
falls on a weekend gives way to the Monday. A date is read by :mod:`skills.parse_times`; the
six other languages' day-first dates by :mod:`skills.intent_rules_languages`, and their
weekdays ("hasta el viernes") by the parser's non-English fallback. "Back" means
:data:`BACK_AT` in the writer's zone.

Pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skills import intent_rules_languages as languages
from skills.parse_times import ParsedTime, extract_days, extract_times

# An away person is taken to be back at this local time on their return day.
BACK_AT = time(9, 0)

_RETURN_ANCHOR = re.compile(
    r"\b(?:return(?:ing)?|back|until|till|through|thru|resum\w*)\b", re.IGNORECASE
)
_AWAY_THROUGH = frozenset({"through", "thru"})
# The days nobody comes back to work on: the day after a Friday away is the Monday.
WEEKEND = frozenset({5, 6})


def mentions_return(text: str) -> bool:
    """Whether the text says when the writer is back, or until when they are away."""
    return _RETURN_ANCHOR.search(text) is not None


def return_day(text: str, *, now: datetime, tz: str) -> date | None:
    """The day the writer of an away note is back, never before ``now``'s day in ``tz``.

    ``tz`` is the zone the writer's words are read in (an IANA name, or a fixed offset such as
    "UTC+05:30" with ``now`` already in it).

    The first day named after "back/return/until/through" is read first, then a date after a
    return word in one of six other languages, then the first day named before the English
    word or, with no such word, anywhere (a day or week still away).
    """
    today = _today(now, tz)
    anchor = _RETURN_ANCHOR.search(text)
    if anchor:
        through = anchor.group(0).lower() in _AWAY_THROUGH
        found = _first_day(text[anchor.end() :], now=now, tz=tz, still_away=through)
        if found is not None:
            return found
    # "Regreso el 16/03": another language's return word, with the date written day first.
    lowered = _lowered(text)
    found = languages.return_date(lowered, today, anywhere=False)
    if found is None:
        found = _foreign_weekday(text, lowered, now=now, tz=tz)
    if found is None:
        away = text[: anchor.start()] if anchor else text
        found = _first_day(away, now=now, tz=tz, still_away=True) or _end_of_stretch(
            away, now=now, tz=tz
        )
    return found or languages.return_date(lowered, today)


def _foreign_weekday(text: str, lowered: str, *, now: datetime, tz: str) -> date | None:
    """A day named in another language after its return word ("hasta el viernes", "bis
    Freitag"), read by the parser's non-English fallback; like "until Monday", the day back."""
    start = languages.after_return_word(lowered)
    if start is None:
        return None
    today = _today(now, tz)
    for found in extract_times(text[start:], now=now, tz=tz):
        if found.grain == "day" and found.start.date() >= today:
            return found.start.date()
    return None


def _first_day(text: str, *, now: datetime, tz: str, still_away: bool) -> date | None:
    today = _today(now, tz)
    for found in extract_days(text, now=now, tz=tz):
        if found.start.date() >= today:
            return _day_after(found) if still_away else found.start.date()
    return None


def _end_of_stretch(text: str, *, now: datetime, tz: str) -> date | None:
    """A stretch of days away that names no single day ("the rest of the week", "early next
    week"): back the first working day after it."""
    today = _today(now, tz)
    # The stretch is time they are away, which the parser marks as ruled out: keep it.
    for found in extract_times(text, now=now, tz=tz, include_excluded=True):
        # One day is `_first_day`'s (an unplaced "that day" is not a stretch at all).
        stretch = found.end is not None and found.end - found.start > timedelta(days=1)
        if stretch and found.grain in ("day", "week") and found.start.date() >= today:
            return _day_after(found)
    return None


def _day_after(away: ParsedTime) -> date:
    """The first working day after a period away: a day's or a week's end, else the next day,
    moved past a weekend ("out through Friday" is back on Monday, not on Saturday)."""
    if away.end is not None and away.grain in ("day", "week"):
        return next_workday(away.end.date())
    return next_workday(away.start.date() + timedelta(days=1))


def next_workday(day: date) -> date:
    """``day``, or the Monday after it when it falls on a Saturday or Sunday."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() in WEEKEND else day


def back_at(day: date, tz: str) -> datetime:
    """The instant a person back on ``day`` is back: :data:`BACK_AT` there, in UTC."""
    return datetime.combine(day, BACK_AT, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _today(now: datetime, tz: str) -> date:
    """``now``'s day in ``tz``; a fixed offset ("UTC+05:30") is taken to be ``now``'s own."""
    try:
        return now.astimezone(ZoneInfo(tz)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


def _lowered(text: str) -> str:
    for curly, straight in (("\u2019", "'"), ("\u2018", "'")):
        text = text.replace(curly, straight)
    return text.lower()
