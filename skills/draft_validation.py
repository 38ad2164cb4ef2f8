"""The last word before a draft becomes a pending action: no time that isn't one of the
structured slots, no relative dates, no scheduling links, no leftover placeholders, and within
the kind's word limit.

Pure: no I/O and no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from skills.draft_inputs import WORD_LIMITS, Draft
from skills.parse_times import ParsedTime, extract_times

_WEEKDAY_ONLY = re.compile(
    r"(?i)^(?:on\s+)?(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|rsday|"
    r"urday|s)?\.?$"
)
_HAS_DATE = re.compile(
    r"(?i)\b(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\b|\d{1,2}/\d{1,2}|\d{4}-\d{2}-\d{2}|\b\d{1,2}(?:st|nd|rd|th)\b|"
    r"\b(?:today|tonight|tomorrow|yesterday)\b"
)
_RELATIVE = re.compile(
    r"(?i)\b(?:today|tonight|tomorrow|tmrw|yesterday|right now|"
    r"this\s+(?:morning|afternoon|evening|week|weekend|month|year|quarter)|"
    r"(?:next|last|this coming)\s+(?:week|weekend|month|year|quarter|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|"
    r"later\s+(?:today|this\s+\w+)|end\s+of\s+(?:the\s+)?(?:day|week|month)|eod|eow|cob|"
    r"in\s+(?:\d+|a|an|one|two|three|a\s+few|few|a\s+couple\s+of)\s+"
    r"(?:minutes?|hours?|days?|weeks?|months?))\b"
)
URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()\"']+")
_SCHEDULING_HOST = re.compile(
    r"(?i)(?:calendly\.com|meetings(?:-\w+)?\.hubspot\.com|hubspot\.com/meetings|"
    r"(?<![\w.-])cal\.com/|savvycal\.com|chilipiper\.com|youcanbook\.me|doodle\.com|"
    r"acuityscheduling\.com|zcal\.co|tidycal\.com|calendar\.app\.google|"
    r"calendar\.google\.com/calendar/appointments|outlook\.office(?:365)?\.com/\S*bookings|"
    r"bookings\.cloud\.microsoft|oncehub\.com|koalendar\.com|harmonizely\.com|vimcal\.com)"
)
_BOOKING_PATH = re.compile(
    r"(?i)/(?:book(?:ing)?s?|book-?a-?(?:time|meeting|call|demo|slot)|schedul\w*|"
    r"appointments?|meet-?with[\w-]*)(?:[/?#.]|$)"
)
_PLACEHOLDER = re.compile(
    r"\[\[[^\[\]]*\]\]|\{\{[^{}]*\}\}|\{[A-Za-z_][A-Za-z0-9_ ]*\}|<<[^<>]*>>|"
    r"\[[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)*\]"
)
_NUMERIC_ZONE = re.compile(r"\s*([+-]\d{2}(?:\d{2})?)\b")
# With no slot to anchor year-less dates, any reference point will do: every mention is wrong.
_NO_SLOTS_REFERENCE = datetime(2000, 1, 3, tzinfo=UTC)


def word_count(text: str) -> int:
    """Words as a reader counts them: whitespace-separated tokens holding a letter or digit."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def validate_draft(
    draft: Draft,
    *,
    kind: str,
    allowed_slots: Sequence[datetime],
    recipient_tz: str,
    our_tz: str,
    links: Sequence[str] = (),
    names: Sequence[str] = (),
) -> list[str]:
    """Problems that must stop ``draft`` from going out; an empty list means it may.

    - every time or date mentioned (subject and body) must be one of ``allowed_slots``, read in
      the recipient's zone or ours; relative dates ("tomorrow", "next week") are never allowed,
      since the send moment isn't known when the draft is written;
    - the body stays within the kind's word limit;
    - no scheduling links (Calendly, HubSpot meetings, cal.com, SavvyCal, Chili Piper, "book a
      time" pages); ``links`` are our own meeting links and are not judged by their path;
    - no unresolved placeholders (``[[SLOTS]]``, ``{first_name}``, ``[First Name]``).

    ``names`` (plus ``draft.names``) are verbatim strings inserted by code, skipped when looking
    for times.
    """
    if kind not in WORD_LIMITS:
        raise ValueError(f"unknown draft kind {kind!r}")
    text = f"{draft.subject}\n\n{draft.body}"
    problems: list[str] = []
    if not draft.body.strip():
        problems.append("the body is empty")
    words = word_count(draft.body)
    if words > WORD_LIMITS[kind]:
        problems.append(f"{kind} draft has {words} words; the limit is {WORD_LIMITS[kind]}")
    problems += [f"unresolved placeholder {m.group()!r}" for m in _PLACEHOLDER.finditer(text)]
    problems += _link_problems(text, links)
    checker = _TimeCheck(tuple(allowed_slots), recipient_tz, our_tz)
    problems += checker.problems(_mask(text, (*draft.names, *names)))
    return list(dict.fromkeys(problems))


def _link_problems(text: str, links: Sequence[str]) -> list[str]:
    ours = {link.strip().rstrip("/") for link in links if link.strip()}
    problems = [f"scheduling link {m.group()!r}" for m in _SCHEDULING_HOST.finditer(text)]
    for match in URL.finditer(text):
        url = match.group().rstrip(".,;:!?")
        if url.rstrip("/") not in ours and _BOOKING_PATH.search(url.split("://", 1)[-1]):
            problems.append(f"scheduling link {url!r}")
    return problems


def _mask(text: str, names: Sequence[str]) -> str:
    """Blank out code-inserted names and labels, longest first. A name followed by a number is
    left alone: that's "May 5", not the prospect called May."""
    for name in sorted({n.strip() for n in names if len(n.strip()) > 1}, key=len, reverse=True):
        pattern = rf"(?<!\w){re.escape(name)}(?!\w)(?!,?\s*\d)"
        text = re.sub(pattern, lambda m: "x" * len(m.group()), text)
    return text


class _TimeCheck:
    """Every time mention must name one of the allowed instants, read in either zone."""

    def __init__(self, allowed: tuple[datetime, ...], recipient_tz: str, our_tz: str):
        self.allowed = allowed
        self.recipient_tz = recipient_tz
        self.zones = tuple(dict.fromkeys((recipient_tz, our_tz)))

    def problems(self, text: str) -> list[str]:
        relative = list(_RELATIVE.finditer(text))
        problems = [f"relative time {m.group()!r}: name the date instead" for m in relative]
        taken = [m.span() for m in relative]
        reference = (min(self.allowed) - timedelta(days=3)) if self.allowed else _NO_SLOTS_REFERENCE
        for start, line in _lines(text):
            problems += self._line_problems(line, start, reference, taken)
        return problems

    def _line_problems(
        self, line: str, offset: int, reference: datetime, taken: list[tuple[int, int]]
    ) -> list[str]:
        # One line at a time: the parser would otherwise join "(4:00 PM CET)" with a weekday
        # at the start of the next paragraph into a single, wrong, time.
        found = extract_times(
            line,
            now=reference,
            tz=self.recipient_tz,
            ignore_quoted=False,  # quoted lines in *our* draft still reach the prospect
            include_excluded=True,  # "not Monday" still names a day
        )
        problems = []
        anchor: datetime | None = None
        for mention in found:
            span = (mention.span[0] + offset, mention.span[1] + offset)
            if any(_overlaps(span, other) for other in taken):
                anchor = None
                continue
            label = self._label(mention, line[mention.span[1] :])
            if _is_bare_clock(mention):
                ok = anchor is not None and self._same_clock(mention, label, anchor)
                anchor = None  # one echo per slot: "11 AM EST (4 PM CET)"
            else:
                anchor = self._match(mention, label)
                ok = anchor is not None
            if not ok:
                problems.append(f"time not in the proposed slots: {mention.text.strip(' ()')!r}")
        return problems

    def _label(self, mention: ParsedTime, after: str) -> str | None:
        """The zone the text names for ``mention``, or ``None`` if it names none."""
        # The parser reports the zone it read: the recipient's when the text named none...
        if mention.tz != self.recipient_tz:
            return mention.tz
        # ...but it leaves numeric names ("-03", "+0545", as zoneinfo prints them) outside.
        numeric = _NUMERIC_ZONE.match(after)
        return numeric.group(1) if numeric else None

    def _walls(self, slot: datetime) -> list[tuple[datetime, str]]:
        locals_ = [slot.astimezone(ZoneInfo(z)) for z in self.zones]
        return [(local.replace(tzinfo=None), local.tzname() or "") for local in locals_]

    def _match(self, mention: ParsedTime, label: str | None) -> datetime | None:
        """The allowed slot ``mention`` names, the closest reading winning when several could."""
        ranked = [(self._rank(mention, label, slot), slot) for slot in self.allowed]
        found = [(rank, slot) for rank, slot in ranked if rank is not None]
        return min(found, key=lambda pair: pair[0])[1] if found else None

    def _rank(self, mention: ParsedTime, label: str | None, slot: datetime) -> int | None:
        """How directly ``mention`` names ``slot`` (lower is closer); ``None`` if it doesn't."""
        walls = self._walls(slot)
        if mention.grain not in ("minute", "hour"):
            return 0 if self._names_day(mention, walls) else None
        said = mention.start.replace(tzinfo=None)
        if label is not None and label in self._local_names(said):
            # The recipient reads a label their own zone prints (IST, CST, PST) as that zone,
            # whatever the parser thinks it means elsewhere: compare what they see.
            return 0 if (said, label) in walls else None
        if mention.start == slot and label in (None, mention.tz):
            return 1
        if label is None:
            for rank, (wall, _) in enumerate(walls, start=2):
                if wall == said:
                    return rank  # the recipient's zone first, then ours
        return None

    def _local_names(self, wall: datetime) -> set[str]:
        """What the recipient's zone and ours call themselves at ``wall``."""
        return {wall.replace(tzinfo=ZoneInfo(z)).tzname() or "" for z in self.zones}

    def _names_day(self, mention: ParsedTime, walls: list[tuple[datetime, str]]) -> bool:
        if mention.grain == "day":
            if _WEEKDAY_ONLY.match(mention.text.strip(" ,.()")):
                return any(wall.weekday() == mention.start.weekday() for wall, _ in walls)
            return any(wall.date() == mention.start.date() for wall, _ in walls)
        start = mention.start.replace(tzinfo=None)
        if mention.end is None:
            return any(wall.date() == start.date() for wall, _ in walls)
        end = mention.end.astimezone(mention.start.tzinfo).replace(tzinfo=None)
        return any(start <= wall < end for wall, _ in walls)

    def _same_clock(self, mention: ParsedTime, label: str | None, slot: datetime) -> bool:
        """Whether a time without a date ("(4:00 PM CET)") is ``slot`` in some zone."""
        said = (mention.start.hour, mention.start.minute)
        walls = self._walls(slot)
        if label is not None and label in {name for _, name in walls}:
            return any((wall.hour, wall.minute) == said for wall, name in walls if name == label)
        if label is None and any((wall.hour, wall.minute) == said for wall, _ in walls):
            return True
        converted = slot.astimezone(mention.start.tzinfo)
        return label in (None, mention.tz) and (converted.hour, converted.minute) == said


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) for every non-blank line of ``text``."""
    out, offset = [], 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            out.append((offset, line))
        offset += len(line)
    return out


def _is_bare_clock(mention: ParsedTime) -> bool:
    return mention.grain in ("minute", "hour") and not _HAS_DATE.search(mention.text)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
