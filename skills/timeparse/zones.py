"""Time zones: names the writer uses, DST-safe wall-clock construction, zone detection."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .lexicon import (
    ABBREVIATION_HOMES,
    CITIES,
    FIXED_ABBREVIATIONS,
    PLACE_TIMES,
    ZONE_WORDS,
    alternation,
)


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """IANA zone by name; "UTC" and fixed offsets such as "UTC+05:30" are accepted too."""
    fixed = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", name.strip())
    if fixed:
        return fixed_offset(fixed.group(1), int(fixed.group(2)), int(fixed.group(3) or 0))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@lru_cache(maxsize=128)
def fixed_offset(sign: str, hours: int, minutes: int = 0, label: str | None = None) -> tzinfo:
    delta = timedelta(hours=hours, minutes=minutes)
    if sign == "-":
        delta = -delta
    if label is None:
        total = int(delta.total_seconds() // 60)
        label = f"UTC{'+' if total >= 0 else '-'}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    return timezone(delta, label)


def zone_name(tz: tzinfo) -> str:
    """A stable name for a zone: the IANA key, or the fixed offset's label."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    return tz.tzname(None) or "UTC"


def abbreviation_zone(word: str) -> tzinfo | None:
    """Zone for an abbreviation or zone word ("EST", "pt", "Pacific"), else None."""
    w = re.sub(r"\s+", " ", word.lower().strip("() "))
    if w in FIXED_ABBREVIATIONS:
        hours = FIXED_ABBREVIATIONS[w]
        sign = "-" if hours < 0 else "+"
        whole = int(abs(hours))
        return fixed_offset(sign, whole, round((abs(hours) - whole) * 60), w.upper())
    if w in ZONE_WORDS:
        return ZoneInfo(ZONE_WORDS[w])
    if w.endswith(" time") and w[:-5] in CITIES:
        return ZoneInfo(CITIES[w[:-5]])
    if w.endswith(" time") and w[:-5] in PLACE_TIMES:
        return ZoneInfo(PLACE_TIMES[w[:-5]])
    return None


def localize(day: date, hour: int, minute: int, tz: tzinfo) -> tuple[datetime, str | None]:
    """Wall-clock ``day hour:minute`` in ``tz``, with a note when DST makes it odd.

    A time inside a spring-forward gap does not exist: it is moved forward by the gap
    (02:30 -> 03:30), the reading a clock that was not changed would give.  A time inside a
    fall-back fold happens twice: the first occurrence (summer time) is taken, because a
    meeting "at 1:30" is normally meant before the clocks go back.
    """
    naive = datetime.combine(day, time(0)) + timedelta(hours=hour, minutes=minute)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    off0, off1 = first.utcoffset(), second.utcoffset()
    if off0 == off1:
        return first, None
    roundtrip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        # In a gap fold=0 uses the offset before the transition; converting back lands on
        # the wall time after it, i.e. shifted forward by the gap.
        moved = first.astimezone(UTC).astimezone(tz)
        return moved, (
            f"{naive:%H:%M} does not exist on {day.isoformat()} in {zone_name(tz)} "
            f"(clocks spring forward); using {moved:%H:%M %Z}"
        )
    return first, (
        f"{naive:%H:%M} happens twice on {day.isoformat()} in {zone_name(tz)} "
        f"(clocks fall back); using the first, {first:%H:%M %Z}"
    )


_ABBR_CASED = re.compile(
    r"(?<![A-Za-z])("
    + "|".join(
        sorted((a.upper() for a in FIXED_ABBREVIATIONS if len(a) > 1), key=len, reverse=True)
    )
    + r"|ET|PT|CT|MT)(?![A-Za-z])"
)
_OFFSET = re.compile(r"\b(?:UTC|GMT)\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?\b", re.IGNORECASE)
_ZONE_WORD = re.compile(
    r"\b(" + alternation([w for w in ZONE_WORDS if len(w) > 2]) + r")\b(?:\s+time)?",
    re.IGNORECASE,
)
_CITY_TIME = re.compile(
    r"\b(" + alternation(list(CITIES)) + r")(?:\s+time|\s+office|\s+hours)\b", re.IGNORECASE
)
_CITY = re.compile(r"\b(" + alternation(list(CITIES)) + r")\b", re.IGNORECASE)
_IANA = re.compile(r"\b((?:America|Europe|Asia|Australia|Africa|Pacific)/[A-Z][A-Za-z_]+)\b")
_HEADER = re.compile(r"([+-])(\d{2}):?(\d{2})$")


def detect_timezone(text: str, *, header_offset: str | None = None) -> tuple[str | None, str]:
    """The writer's probable IANA zone and the evidence for it.

    Strongest first: an IANA name, a UTC/GMT offset ("GMT+1"), an abbreviation ("EST",
    "CEST", "PT") or zone word ("Pacific"), "<city> time", then a city anywhere (a signature
    line), and finally the Date header's offset ("-0500"), which only says where the mail
    client was, so it is weak evidence.  Returns ``(None, reason)`` when nothing is found.
    """
    m = _IANA.search(text)
    if m:
        try:
            ZoneInfo(m.group(1))
            return m.group(1), f"explicit zone name {m.group(1)!r}"
        except (ZoneInfoNotFoundError, ValueError):
            pass
    m = _OFFSET.search(text)
    if m:
        sign = "-" if m.group(1) in "-−" else "+"
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        return _offset_zone(sign, hours, minutes), f"explicit UTC offset {m.group(0)!r}"
    m = _ABBR_CASED.search(text)
    if m:
        word = m.group(1).lower()
        home = ABBREVIATION_HOMES.get(word) or ZONE_WORDS.get(word)
        if home:
            return home, f"time zone abbreviation {m.group(1)!r}"
    m = _ZONE_WORD.search(text)
    if m:
        key = re.sub(r"\s+", " ", m.group(1).lower())
        return ZONE_WORDS[key], f"zone word {m.group(0)!r}"
    m = _CITY_TIME.search(text) or _CITY.search(text)
    if m:
        city = re.sub(r"\s+", " ", m.group(1).lower())
        return CITIES[city], f"city {m.group(1)!r} mentioned"
    if header_offset:
        h = _HEADER.search(header_offset.strip())
        if h:
            zone_key = _offset_zone(h.group(1), int(h.group(2)), int(h.group(3)))
            return zone_key, f"Date header offset {header_offset.strip()} (weak evidence)"
    return None, "no time zone evidence"


def _offset_zone(sign: str, hours: int, minutes: int) -> str:
    if minutes == 0 and hours <= 14:
        if hours == 0:
            return "UTC"
        # POSIX-style Etc names invert the sign: Etc/GMT-1 is UTC+01:00.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return f"UTC{sign}{hours:02d}:{minutes:02d}"
