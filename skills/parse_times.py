"""Time intelligence: the single source of truth for every time Convene reads or writes.

Pure and offline: no I/O, no clock reads (``now`` is always passed in), ``zoneinfo`` only.

- :func:`parse_time` reads one expression ("next Tuesday at 2", "3-4pm EST").
- :func:`extract_times` finds every expression in free text (an email body), in order.
- :func:`extract_exclusions` finds the times the writer rules out ("not Monday").
- :func:`extract_days` finds the expressions that name one day or week ("Friday", "Dec 3").
- :func:`match_to_proposed` maps "the first one" / "Tuesday works" to a proposed slot.
- :func:`compare_to_proposed` says, for each expression, which proposed slots it describes.
- :func:`slots_named` gathers the proposed slots a reply's times describe, less those ruled out.
- :func:`detect_timezone` guesses the writer's zone from the text and the Date header.
- :func:`in_writers_zone` says whether a time is pinned to the writer's own zone ("my time").

Reading rules worth knowing: a bare "10:30" is morning and a bare "2" or "4:30" afternoon
(business hours); slashed dates are month-first unless ``dayfirst=True``, dotted ones
("19.06.", "Monday 19.06") always day-first, and "17.05-18.15" or "0905-1340" are 24-hour
clock ranges; "next Tuesday" is the Tuesday of next week; a date without a year is the next
one to come ("Jan 5" in December is next year); "Monday the 5th" is the next month whose 5th
is a Monday; abbreviations keep their DST meaning (EST is UTC-5 all year, ET follows New
York); a wall time inside a DST gap moves forward and one inside a fold takes the first
occurrence, both with low confidence.
A date written in Spanish, German, French, Portuguese, Italian or Dutch is read by dateparser
(in free text, each run of date words on its own) and kept only when it agrees with the
month, day and weekday in the text (``timeparse.foreign``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from skills.timeparse.anaphora import bind
from skills.timeparse.context import Context
from skills.timeparse.foreign import foreign_trigger, foreign_windows, read_foreign
from skills.timeparse.grammar import Expression, parse_expressions
from skills.timeparse.matching import SlotFit, fit_each, match_proposed
from skills.timeparse.model import GRAINS, ParsedTime
from skills.timeparse.normalize import normalize
from skills.timeparse.quoting import mask_quoted
from skills.timeparse.resolve import resolve
from skills.timeparse.rules_clock import WHOSE_TIME
from skills.timeparse.spec import Spec
from skills.timeparse.zones import detect_timezone, zone_name

__all__ = [
    "GRAINS",
    "ParsedTime",
    "SlotFit",
    "compare_to_proposed",
    "detect_timezone",
    "extract_days",
    "extract_exclusions",
    "extract_times",
    "in_writers_zone",
    "match_to_proposed",
    "parse_time",
    "score_parse",
    "score_search",
    "slots_named",
]


def parse_time(text: str, *, now: datetime, tz: str, dayfirst: bool = False) -> ParsedTime | None:
    """Read ``text`` as one time expression; ``None`` when it holds no time.

    ``now`` must be timezone-aware; ``tz`` is the IANA zone the writer means when they name
    none.  When the text holds several expressions the longest is returned.  A bare number
    counts as a clock time here ("2" is 2 PM), unlike in :func:`extract_times`.
    """
    ctx = Context.build(now, tz, dayfirst)
    results = _read(text, ctx, whole=True)
    best, spec = (
        max(results, key=lambda r: r[0].span[1] - r[0].span[0]) if results else (None, None)
    )
    trigger = foreign_trigger(text)
    if trigger is None or (best is not None and best.span[0] <= trigger < best.span[1]):
        return best
    # A month, weekday or "Uhr" in another language lies outside what the English rules read:
    # they saw at most a clock or a number next to it, so the fallback reads the whole text.
    # When the English reading already has a day, the fallback may only add to it.
    foreign = _read_foreign(text, ctx)
    if foreign is None or best is None or spec is None:
        return foreign or best
    return foreign if _foreign_wins(best, spec, foreign) else best


def _foreign_wins(english: ParsedTime, spec: Spec, foreign: ParsedTime) -> bool:
    """Whether the fallback's reading replaces the English rules' reading of the same words."""
    if not _names_day(spec):
        return True  # the English reading has no day (a clock, a year, a number)
    if foreign.start.date() == english.start.astimezone(foreign.start.tzinfo).date():
        return foreign.grain == "minute"  # same day: the fallback adds the time of day
    weekday_only = spec.month is None and spec.day is None and spec.date is None
    # "Tuesday, 3 juni": the English rules saw only the weekday, and it fits.
    return weekday_only and spec.weekday == foreign.start.weekday()


def extract_times(
    text: str,
    *,
    now: datetime,
    tz: str,
    ignore_quoted: bool = True,
    dayfirst: bool = False,
    include_excluded: bool = False,
) -> list[ParsedTime]:
    """Every time expression in free text, in order of appearance, with its span.

    With ``ignore_quoted`` (the default) quoted history is skipped: lines starting with
    ``>`` and everything after a reply header ("On ... wrote:", "-----Original
    Message-----", an Outlook "From:/Sent:" block), so an earlier proposal quoted back is
    never taken for the writer's own.  Spans always index into the original ``text``.
    Exclusions ("not Monday") are left out unless ``include_excluded``; see
    :func:`extract_exclusions`.
    """
    ctx = Context.build(now, tz, dayfirst)
    source = mask_quoted(text) if ignore_quoted else text
    found = _read(source, ctx, whole=False, original=text)
    if foreign_trigger(source) is not None:
        found = _with_foreign(found, source, text, ctx)
    return [p for p, _ in found if include_excluded or not p.excluded]


def _with_foreign(
    found: list[tuple[ParsedTime, Spec]], source: str, original: str, ctx: Context
) -> list[tuple[ParsedTime, Spec]]:
    """Add what the non-English fallback reads in runs the English rules only partly saw."""
    for start, end in foreign_windows(source):
        overlapping = [(p, s) for p, s in found if p.span[0] < end and start < p.span[1]]
        foreign = _read_foreign(original[start:end], ctx, offset=start)
        if foreign is None or not all(_foreign_wins(p, s, foreign) for p, s in overlapping):
            continue
        kept = [(p, s) for p, s in found if (p, s) not in overlapping]
        found = sorted([*kept, (foreign, Spec())], key=lambda r: r[0].span)
    return found


def _names_day(spec: Spec) -> bool:
    return (
        spec.month is not None
        or spec.day is not None
        or spec.weekday is not None
        or spec.date is not None
        or spec.holiday is not None
    )


def extract_exclusions(
    text: str, *, now: datetime, tz: str, ignore_quoted: bool = True, dayfirst: bool = False
) -> list[ParsedTime]:
    """The times the writer rules out ("not Monday", "anything but Friday", "Tue is bad")."""
    found = extract_times(
        text,
        now=now,
        tz=tz,
        ignore_quoted=ignore_quoted,
        dayfirst=dayfirst,
        include_excluded=True,
    )
    return [p for p in found if p.excluded]


def extract_days(text: str, *, now: datetime, tz: str) -> list[ParsedTime]:
    """The expressions in free text that name one particular day or week, in order.

    "Friday", "Dec 3", "the 16th", "tomorrow", "Monday at 9", "next week" name one; a clock
    alone ("until 3pm") or a month alone ("in January") does not.  Days the writer rules out
    ("I am off on Wednesday") are kept, marked ``excluded``.  Quoted history is skipped and
    only the English rules read (a caller that knows which other language it is reading
    reads that itself).
    """
    ctx = Context.build(now, tz)
    found = _placed(_read(mask_quoted(text), ctx, whole=False, original=text))
    return [p for p, spec in found if _names_one_day(spec) or p.grain == "week"]


def _placed(found: list[tuple[ParsedTime, Spec]]) -> list[tuple[ParsedTime, Spec]]:
    """Leave out "that day" when the text names no day it can point to: it cannot be placed."""
    return [(p, spec) for p, spec in found if spec.anaphor is None]


def _names_one_day(spec: Spec) -> bool:
    return (
        spec.day is not None
        or spec.weekday is not None
        or spec.date is not None
        or spec.holiday is not None
    )


def match_to_proposed(
    text: str, proposed: Sequence[datetime], *, now: datetime, tz: str
) -> int | None:
    """Index of the proposed slot the writer chose, or ``None`` when unclear.

    Understands ordinals ("the first one", "option 2", "#3", "the last one"), relative picks
    ("the earlier/later one on Thursday"), and times or days that single out one slot
    ("Tuesday works", "2pm is fine", "Wed at 10").  Slots the writer excludes ("not
    Monday") are never chosen.  Two or more equally good candidates give ``None``.
    """
    ctx = Context.build(now, tz)
    body = mask_quoted(text)
    times = _placed(_read(body, ctx, whole=False, original=text))
    return match_proposed(body, proposed, times, ctx)


def slots_named(
    text: str, proposed: Sequence[datetime], *, now: datetime, tz: str
) -> tuple[int, ...]:
    """Indices of the proposed slots the writer's times describe ("Thursday works" when two
    Thursdays were offered: both), less any they rule out; empty when they name none."""
    fits = compare_to_proposed(text, proposed, now=now, tz=tz)
    named = {i for f in fits if not f.excluded and f.slots for i in f.slots}
    ruled_out = {i for f in fits if f.excluded and f.slots for i in f.slots}
    return tuple(sorted(named - ruled_out))


def in_writers_zone(text: str) -> bool:
    """Whether the writer pins a time to their own zone ("3pm my time", "10am local time"):
    such a time is read right only where we know that zone, so a caller that doesn't should
    ask rather than read it in a zone of its own choosing. Quoted history is skipped."""
    body = mask_quoted(text)
    return any(
        m.group("who").lower() != "your" and _CLOCK_BEFORE.search(body, 0, m.start())
        for m in re.finditer(WHOSE_TIME, body, re.IGNORECASE)
    )


def compare_to_proposed(
    text: str, proposed: Sequence[datetime], *, now: datetime, tz: str | None = None
) -> list[SlotFit]:
    """Every time expression in free text, in order, with the proposed slots it describes.

    Every reading of an expression counts: a clock without am/pm ("at 3", "half past five")
    fits 3:00 and 15:00 alike, while "Tuesday at 2pm" is one reading and fits only a Tuesday
    slot at 14:00.  A weekday fits a slot on that weekday in any week.  Times the writer
    rules out are kept, marked ``excluded``.  Quoted history is skipped and only the English
    rules read, as in :func:`extract_days`.  Without ``tz`` the text is read in ``now``'s own
    zone.
    """
    assert now.tzinfo is not None, "now must be timezone-aware"
    ctx = Context.build(now, tz or zone_name(now.tzinfo))
    body = mask_quoted(text)
    return fit_each(body, proposed, _placed(_read(body, ctx, whole=False, original=text)), ctx)


def _read_foreign(text: str, ctx: Context, offset: int = 0) -> ParsedTime | None:
    found = read_foreign(text, ctx)
    if found is None:
        return None
    start, grain = found
    if grain == "day":
        start = ctx.midnight(start.date())
    reading = f"{_WEEKDAYS[start.weekday()]} {start.isoformat(timespec='minutes')}"
    return ParsedTime(
        start=start,
        end=None,
        grain=grain,
        tz=ctx.tz_name,
        span=(offset, offset + len(text)),
        confidence="medium",
        reasoning=f"{text!r} read as {reading} by the non-English fallback, checked against "
        "the month and day written in the text",
        text=text,
    )


def score_parse(text: str, reference_time: datetime, tz: str) -> datetime | None:
    """Adapter for the shared scorer (``score_time.py --parser skills.parse_times:score_parse``)."""
    parsed = parse_time(text, now=reference_time, tz=tz)
    return parsed.start if parsed else None


def score_search(text: str, reference_time: datetime, tz: str) -> list[tuple[str, datetime]]:
    """Search-style adapter for the shared scorer: ``(matched text, start)`` per expression."""
    # The corpus asks which times a sentence mentions, so ruled-out ones count too.
    found = extract_times(text, now=reference_time, tz=tz, include_excluded=True)
    return [(p.text, p.start) for p in found]


# A clock just before "my time" ("3pm my time", "15:00 (local time)"), not "my time is short".
_CLOCK_BEFORE = re.compile(r"(?:\d|\bnoon)(?:\s*[ap]\.?m\.?)?[\s,(]*(?:in\s+)?$", re.IGNORECASE)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WORDLIKE_DAYS = frozenset({"sat", "sun", "wed", "mon"})
# A bare "now" is a time when it closes the question or clause ("can you talk now?").
_NOW_AS_TIME = re.compile(r"\s*(?:[?!.,;:)]|$|\s*(?:or|and|if|please|instead)\b)")
# "Right now I am scheduled to ...": opening a clause before its subject it means "currently".
# "arrange a lunch with you", "take you to lunch", "NY Pizzeria for lunch": after an article, a
# possessive, "to" or "for", with no day beside it, the meal is the outing, not a time of day.
_MEAL_AS_NOUN = re.compile(r"\b(?:a|an|the|our|your|my|their|his|her|to)\s+$", re.IGNORECASE)
_MEALS = frozenset({"lunch", "for lunch"})
# "skip this year": a year-long period around now leaves every time open, so it names none.
_A_YEAR = timedelta(days=365)
# "one of the evenings you mentioned", "either of the Tuesdays": a pick among times named
# elsewhere, not a time of its own.
_ONE_OF_THE = re.compile(
    r"\b(?:one|either|any|each|both|all|none|neither|some|most)\s+of\s+"
    r"(?:the|those|these|your|our|my|their)\s+$",
    re.IGNORECASE,
)
_CLAUSE_OPENS = re.compile(r"(?:^|[.!?;:,\n])\s*$")
_NOW_THEN_SUBJECT = re.compile(r",?\s+(?:I|we|you|he|she|they|it|there)(?:'\w+)?\s", re.IGNORECASE)


def _read(
    text: str, ctx: Context, *, whole: bool, original: str | None = None
) -> list[tuple[ParsedTime, Spec]]:
    norm = normalize(text)
    source = original if original is not None else text
    out: list[tuple[ParsedTime, Spec]] = []
    for expr in parse_expressions(norm, ctx, whole=whole):
        span = norm.span(expr.start, expr.end)
        matched = source[span[0] : span[1]]
        if not whole and matched.rstrip(".").lower() in _WORDLIKE_DAYS and matched.islower():
            continue  # "sat down", "the sun": only a capitalised "Sat"/"Sun" is a weekday
        if not whole and expr.spec.is_now and _adverb_now(matched, source, span):
            continue  # "I now have", "for now": the adverb, not a time to meet
        if not whole and _meal_as_outing(matched, source, span[0]):
            continue
        if not whole and _only_names_a_kind(expr.spec) and _ONE_OF_THE.search(source, 0, span[0]):
            continue
        if expr.spec.anaphor is not None:
            expr.spec = bind(expr.spec, [p for p, _ in out], ctx)
        parsed = _to_parsed(expr, span, source, ctx)
        if parsed is None or (not whole and _the_year_around_now(parsed, ctx)):
            continue
        out.append((parsed, expr.spec))
    return out


def _meal_as_outing(matched: str, source: str, start: int) -> bool:
    meal = matched.lower()
    if meal not in _MEALS:
        return False
    return meal.startswith("for ") or _MEAL_AS_NOUN.search(source, 0, start) is not None


def _the_year_around_now(parsed: ParsedTime, ctx: Context) -> bool:
    end = parsed.end
    return end is not None and end - parsed.start >= _A_YEAR and parsed.start <= ctx.now < end


def _only_names_a_kind(spec: Spec) -> bool:
    """A part of day or a weekday and nothing else: "evenings", "Tuesdays"."""
    bare = (
        spec.date is None
        and spec.month is None
        and spec.day is None
        and spec.hour is None
        and spec.interval is None
        and spec.instant is None
        and spec.anaphor is None
        and spec.end is None
    )
    return bare and (spec.pod is not None) != (spec.weekday is not None)


def _adverb_now(matched: str, source: str, span: tuple[int, int]) -> bool:
    start, end = span
    words = matched.lower().split()
    if not words or words[-1] != "now":
        return False
    if "right" in words:
        opens = _CLAUSE_OPENS.search(source, 0, start) is not None
        return opens and _NOW_THEN_SUBJECT.match(source, end) is not None
    return "for" in words or _NOW_AS_TIME.match(source, end) is None


def _to_parsed(
    expr: Expression, span: tuple[int, int], source: str, ctx: Context
) -> ParsedTime | None:
    resolved = resolve(expr.spec, ctx)
    if resolved is None:
        return None
    matched = source[span[0] : span[1]]
    start = resolved.start
    reading = f"{_WEEKDAYS[start.weekday()]} {start.isoformat(timespec='minutes')}"
    if resolved.end is not None:
        reading += f" to {resolved.end.isoformat(timespec='minutes')}"
    why = "; ".join(text for _, text in resolved.notes)
    zone_said = f" ({expr.spec.tz_label} given)" if expr.spec.tz_label else f" (in {ctx.tz_name})"
    reasoning = f"{matched!r} read as {reading}, {resolved.grain} precision{zone_said}"
    if expr.spec.excluded:
        reasoning += "; excluded by the writer"
    if why:
        reasoning += f"; {why}"
    return ParsedTime(
        start=start,
        end=resolved.end,
        grain=resolved.grain,
        tz=resolved.tz_name,
        span=span,
        confidence=resolved.confidence,
        reasoning=reasoning,
        text=matched,
        excluded=expr.spec.excluded,
    )
