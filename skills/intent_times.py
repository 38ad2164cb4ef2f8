"""The times a reply names, as far as the intent rules need them, and whether they are ours."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from skills import intent_rules as rules


@dataclass(frozen=True)
class TimeMention:
    """A time expression in the reply, as far as a few regexes can tell (no TimeParser here)."""

    text: str
    weekday: int | None = None
    month: int | None = None
    day: int | None = None
    relative_days: int | None = None
    hour: int | None = None
    minute: int = 0
    pm: bool | None = None
    part_of_day: str | None = None
    in_question: bool = False
    away: bool = False  # said of a time the writer is away: that time is out


_MONTH_INDEX = {name[:3]: index for index, name in enumerate(rules.MONTHS, start=1)}

_WEEKDAY_INDEX = {name: index for index, name in enumerate(rules.WEEKDAYS)}

_HOUR_WORDS = {word: value for value, word in enumerate(rules.NUMBER_WORDS, start=1)}

# Spoken parts of the day, mapped onto the three that slots are sorted into.
_PARTS_OF_DAY = {
    "first thing": "morning",
    "lunch": "midday",
    "lunchtime": "midday",
    "end of day": "afternoon",
    "end of the day": "afternoon",
    "after work": "evening",
}

_RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2}


def time_mentions(lowered: str, *, in_question: bool) -> list[TimeMention]:
    """Clock times, days and parts of day in one sentence, with what the regexes can read."""
    found: list[TimeMention] = []
    taken: list[tuple[int, int]] = []
    for pattern in rules.CLOCK_PATTERNS:
        for match in pattern.finditer(lowered):
            if not _overlaps(match.span(), taken):
                taken.append(match.span())
                found.append(_clock_mention(match, in_question))
    for pattern in rules.DAY_PATTERNS:
        for match in pattern.finditer(lowered):
            if not _overlaps(match.span(), taken):
                taken.append(match.span())
                found.append(_day_mention(match, in_question))
    for match in rules.PART_OF_DAY.finditer(lowered):
        if not _overlaps(match.span(), taken):
            part = _PARTS_OF_DAY.get(match["part"], match["part"])
            found.append(TimeMention(match.group(0), part_of_day=part, in_question=in_question))
    return found


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _group(match: re.Match[str], name: str) -> str | None:
    return match.groupdict().get(name)


def _clock_mention(match: re.Match[str], in_question: bool) -> TimeMention:
    if _group(match, "word"):  # noon / midday
        return TimeMention(match.group(0), hour=12, pm=True, in_question=in_question)
    raw_hour = _group(match, "h") or "0"
    hour = int(raw_hour) if raw_hour.isdigit() else _HOUR_WORDS[raw_hour]
    minute = int(_group(match, "m") or 0)
    frac = _group(match, "frac")
    if frac == "half past":
        minute = 30
    elif frac in ("quarter past", "quarter after"):
        minute = 15
    elif frac == "quarter to":
        hour, minute = (hour - 1) or 12, 45
    ampm = _group(match, "ampm")
    part = _group(match, "part")
    pm: bool | None = None
    if ampm:
        pm = ampm.startswith("p")
    elif part:
        pm = part != "morning"
    elif hour > 12:
        pm = True
    return TimeMention(match.group(0), hour=hour, minute=minute, pm=pm, in_question=in_question)


def _day_mention(match: re.Match[str], in_question: bool) -> TimeMention:
    text = match.group(0)
    weekday = _group(match, "weekday")
    if weekday:
        name = weekday.rstrip(".")
        index = _WEEKDAY_INDEX.get(name, rules.WEEKDAY_ABBREVIATIONS.get(name))
        return TimeMention(text, weekday=index, in_question=in_question)
    relative = _group(match, "relative")
    if relative:
        return TimeMention(text, relative_days=_RELATIVE_DAYS[relative], in_question=in_question)
    month_name, day = _group(match, "month"), _group(match, "day")
    month: int | None = None
    if _group(match, "m_num"):  # US style 3/14
        day, month = _group(match, "d_num"), int(match["m_num"])
    elif month_name:
        month = _MONTH_INDEX.get(month_name[:3])
    day_number = int(re.sub(r"\D", "", day)) if day else None
    return TimeMention(text, month=month, day=day_number, in_question=in_question)


def matches_proposed(mention: TimeMention, local_slots: Sequence[datetime]) -> bool | None:
    """Whether a mention names one of our slots; ``None`` when a regex cannot tell."""
    if mention.weekday is not None:
        return any(slot.weekday() == mention.weekday for slot in local_slots)
    if mention.day is not None:
        return any(
            slot.day == mention.day and mention.month in (None, slot.month) for slot in local_slots
        )
    if mention.hour is not None:
        return any(_same_clock(mention, slot) for slot in local_slots)
    if mention.part_of_day is not None:
        return any(mention.part_of_day in _parts_of_day(slot) for slot in local_slots)
    return None


def _same_clock(mention: TimeMention, slot: datetime) -> bool:
    hour = mention.hour or 0
    if mention.minute != slot.minute:
        return False
    if mention.pm is None:  # "at 3" means 3:00 or 15:00
        return hour % 12 == slot.hour % 12
    return (hour % 12) + (12 if mention.pm else 0) == slot.hour


def _parts_of_day(slot: datetime) -> set[str]:
    parts = {"morning" if slot.hour < 12 else "afternoon" if slot.hour < 17 else "evening"}
    if 11 <= slot.hour < 14:
        parts.add("midday")
    return parts
