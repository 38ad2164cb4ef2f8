"""The result type every time-reading path in Convene returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .zones import zone

GRAINS = ("minute", "hour", "part_of_day", "day", "week", "month")
_GRAIN_LABELS = {"part_of_day": "", "week": "week of ", "month": ""}


@dataclass(frozen=True, slots=True)
class ParsedTime:
    """One time the writer meant.

    ``start`` and ``end`` are aware datetimes in the zone ``tz`` that was used to read the
    expression (the writer's explicit zone, else the zone passed in).  ``end`` is the end
    of a range or of the period named ("Tuesday" ends at midnight, "2-3pm" at 3pm); it is
    ``None`` for a point in time ("3pm", "in 2 hours") and for open ranges ("after Friday").
    ``grain`` says how precise ``start`` is: minute, hour, part_of_day, day, week, month.
    ``span`` is the (start, end) offset of the matched text in the input; ``text`` is that
    slice.  ``confidence`` is high, medium (a business-hours guess, an unstated meridiem) or
    low (a DST gap or fold, a weekday that contradicts the date).  ``reasoning`` is one line
    explaining the reading.  ``excluded`` marks negatives ("not Monday", "anything but
    Friday"): the writer is ruling that time out.
    """

    start: datetime
    end: datetime | None
    grain: str
    tz: str
    span: tuple[int, int]
    confidence: str
    reasoning: str
    text: str = ""
    excluded: bool = False

    def display(self, tz: str | None = None) -> str:
        """Human-readable rendering in ``tz`` (default: the zone the time was read in).

        Minute and hour times read back through :func:`parse_time` to the same instant:
        the zone abbreviation (EST vs EDT) pins down the hour that happens twice at a DST
        fold.
        """
        target = zone(tz or self.tz)
        start = self.start.astimezone(target)
        day = f"{start:%a}, {start:%b} {start.day}, {start.year}"
        if self.grain in ("minute", "hour"):
            text = f"{day}, {_clock(start)} {_abbreviation(start)}"
            if self.end is not None:
                end = self.end.astimezone(target)
                same_day = end.date() == start.date() or (
                    end - start <= timedelta(hours=24) and end.hour == 0 and end.minute == 0
                )
                prefix = "" if same_day else f"{end:%a}, {end:%b} {end.day}, "
                text = f"{day}, {_clock(start)}\u2013{prefix}{_clock(end)} {_abbreviation(end)}"
            return text
        if self.grain == "part_of_day" and self.end is not None:
            end = self.end.astimezone(target)
            return f"{day}, {_clock(start)}\u2013{_clock(end)} {_abbreviation(end)}"
        # A calendar day is the writer's day: shifting midnight into another zone would
        # turn "Thursday" into "Thu 5am - Fri 5am".
        own = zone(self.tz)
        start = self.start.astimezone(own)
        day = f"{start:%a}, {start:%b} {start.day}, {start.year}"
        label = _GRAIN_LABELS.get(self.grain, "")
        if self.end is not None and self.grain in ("day", "week", "month"):
            last = (self.end - timedelta(seconds=1)).astimezone(own)
            if last.date() != start.date() and self.grain == "day":
                return f"{day} \u2013 {last:%a}, {last:%b} {last.day}, {last.year}"
        return f"{label}{day}"


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _abbreviation(moment: datetime) -> str:
    name = moment.tzname() or "UTC"
    if name[0] in "+-":
        offset = moment.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return name
