"""Recognisers for clock times, parts of day and time zones."""

from __future__ import annotations

import re

from .context import Context
from .lexicon import CITIES, MONTH_RE, PARTS_OF_DAY, PLACE_TIMES, WEEKDAY_RE, alternation
from .registry import ZONE_ALT, rule
from .spec import Spec
from .zones import abbreviation_zone, fixed_offset

# ---- clock times ---------------------------------------------------------------------


def _clock(hour: int, minute: int | None, ap: str | None, *, weak: bool = False) -> Spec | None:
    if minute is not None and not 0 <= minute <= 59:
        return None
    if ap:
        ap = {"a": "am", "p": "pm"}.get(ap, ap)
        if not 1 <= hour <= 12 and not (hour == 0 and ap == "am"):
            if not 12 < hour <= 23:
                return None
            ap = None  # "15pm": the 24-hour clock already says it
    elif not 0 <= hour <= 24:
        return None
    spec = Spec(hour=hour % 24 if hour == 24 else hour, minute=minute, meridiem=ap, weak=weak)
    return spec


@rule(
    r"(?:(?<=\d\d\d\d:)|(?<![\d:]))\b(?P<h>\d{1,2}):(?P<mi>\d{2})(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s*(?P<ap>am|pm)\b|(?P<a1>[ap])\b)?",
    needs="d",
)
def _colon_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    ap = m.group("ap") or m.group("a1")
    hour = m.group("h")
    if ap is None and len(hour) == 2 and hour[0] == "0":
        ap = "am"  # a zero-padded hour is the 24-hour clock: "04:30" is not 4:30 PM
    return _clock(int(hour), int(m.group("mi")), ap)


@rule(r"\b(?P<h>\d{1,2})\.(?P<mi>\d{2})\s*(?P<ap>am|pm)\b", needs="d")
def _dot_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    return _clock(int(m.group("h")), int(m.group("mi")), m.group("ap"))


@rule(r"\b(?P<h>\d{1,2})\s?h(?P<mi>\d{2})?(?![a-z\d])(?:\s*(?P<ap>am|pm)\b)?", needs="d")
def _h_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    mi = m.group("mi")
    hour = int(m.group("h"))
    # "15h00", "9h30": the French/European notation is always the 24-hour clock.
    ap = m.group("ap") or ("am" if hour < 12 else None)
    return _clock(hour, int(mi) if mi else None, ap)


@rule(
    r"\b(?P<h>\d{1,2})(?P<mi>[0-5]\d)?\s*(?P<ap>am|pm)\b|\b(?P<h1>\d{1,2})(?P<a1>[ap])\b", needs="d"
)
def _meridiem_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    if m.group("h1"):
        return _clock(int(m.group("h1")), None, m.group("a1"))
    mi = m.group("mi")
    return _clock(int(m.group("h")), int(mi) if mi else None, m.group("ap"))


@rule(r"\b(?P<h>\d{1,2})\s*oclock\b(?:\s*(?P<ap>am|pm)\b)?", needs="d")
def _oclock(m: re.Match[str], ctx: Context) -> Spec | None:
    return _clock(int(m.group("h")), None, m.group("ap"))


@rule(
    r"\b(?P<h>\d{1,2})\s(?P<mi>[0-5]\d)\s*(?P<ap>am|pm)\b"
    r"|\b(?:at|@)\s+(?P<h2>\d{1,2})\s(?P<mi2>[0-5]\d)\b(?!\s*[/:\d])",
    needs="d",
)
def _spoken_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    if m.group("h2"):
        return _clock(int(m.group("h2")), int(m.group("mi2")), None)
    return _clock(int(m.group("h")), int(m.group("mi")), m.group("ap"))


@rule(
    r"\b(?:at|@|around|about|approximately|approx|by|from|until|till)\s+(?P<h>[0-2]?\d)"
    r"(?P<mi>[0-5]\d)\b(?![/.\-:]\d|\s*(?:hours|days|minutes))",
    needs="d",
)
def _military(m: re.Match[str], ctx: Context) -> Spec | None:
    hour = int(m.group("h"))
    return _clock(hour, int(m.group("mi")), None) if hour <= 23 else None


_HHMM = r"(?P<{h}>[01]\d|2[0-3])(?P<{m}>[0-5]\d)"
_AFTER_DATE = re.compile(
    rf"(?:{MONTH_RE}|{WEEKDAY_RE}|\b\d{{1,2}}(?:st|nd|rd|th)?|\b(?:19|20)\d\d|today|tomorrow)"
    r"[\s,]*(?:at\s+|@\s*)?$"
)


@rule(
    r"(?<![\d:.,/$€£#+-])\b"
    + _HHMM.format(h="h", m="mi")
    + r"\s*(?:-|–|to|until|till)\s*"
    + _HHMM.format(h="h2", m="mi2")
    + r"\b(?![\d:/-]|\.\d)",
    needs="4",
)
def _military_range(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "0905-1340": a range of 24-hour times; "2010-2015" stays a span of years."""
    if all(re.fullmatch(r"(?:19|20)\d\d", x) for x in (m.group(0)[:4], m.group(0)[-4:])):
        return None
    start = _clock(int(m.group("h")), int(m.group("mi")), None)
    end = _clock(int(m.group("h2")), int(m.group("mi2")), None)
    if start is None or end is None:
        return None
    for spec, text in ((start, m.group("h")), (end, m.group("h2"))):
        if spec.hour is not None and spec.hour < 12 and text.startswith("0"):
            spec.meridiem = "am"
    start.end = end
    return start


@rule(
    r"(?<![\d:.,/$€£#+-])\b" + _HHMM.format(h="h", m="mi") + r"\b"
    # A full stop may end the sentence; a dot before a digit makes it a decimal or a date.
    r"(?![\d:/-]|\.\d|\s*(?:%|hours?|hrs?|h\b|people|users|units|employees|dollars?|usd|eur|gbp))",
    needs="4",
)
def _four_digit_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "6 Nov 2359", "Wed 1 Nov 0805": four digits right after a date are its time."""
    if re.fullmatch(r"(?:19|20)\d\d", m.group(0)):
        return None  # a year; ties go to the date rules anyway
    if not _AFTER_DATE.search(m.string, max(0, m.start() - 30), m.start()):
        return None  # "room 1410 on Tuesday", "1430 guests": a number, not a time
    hour = int(m.group("h"))
    ap = "am" if hour < 12 else None
    return _clock(hour, int(m.group("mi")), ap, weak=True)


@rule(
    r"\bhalf\s+(?P<h>\d{1,2})\b(?!\s*(?:hours?|days?|weeks?|months?|years?|minutes?|past|after|to)\b)",
    needs="d",
)
def _half_hour(m: re.Match[str], ctx: Context) -> Spec | None:
    return _clock(int(m.group("h")), 30, None)  # British "half three" is 3:30


@rule(r"\b(?:12\s+)?(?P<w>noon|midnight)\b")
def _noon(m: re.Match[str], ctx: Context) -> Spec | None:
    if m.group("w") == "noon":
        return Spec(hour=12, minute=0, meridiem="pm")
    return Spec(hour=0, minute=0, meridiem="am")


@rule(
    r"(?<![:\d])\b(?:(?P<n>\d{1,2})(?P<mins>\s*(?:minutes?|mins?))?|(?P<q>quarter|half))\s+"
    r"(?P<rel>past|after|to|till|til|before|of)\s+"
    r"(?:(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?(?:\s*(?P<ap>am|pm)\b)?|(?P<w>noon|midnight))(?![\d:/])"
)
def _relative_clock(m: re.Match[str], ctx: Context) -> Spec | None:
    q = m.group("q")
    n = 15 if q == "quarter" else 30 if q == "half" else int(m.group("n"))
    rel = m.group("rel")
    backwards = rel in ("to", "till", "til", "before", "of")
    if q == "half" and backwards:
        return None
    if backwards and not (q or m.group("mins") or n > 12 or m.group("w")):
        return None  # "5 to 6" is a range, not 5:55
    if n >= 60:
        return None
    if m.group("w"):
        base = _noon(m, ctx)
    else:
        base = _clock(int(m.group("h")), int(m.group("mi") or 0), m.group("ap"))
    if base is None or base.hour is None:
        return None
    total = base.hour * 60 + (base.minute or 0) + (-n if backwards else n)
    hour, minute = divmod(total % (24 * 60), 60)
    if base.meridiem == "pm" and base.hour == 12 and hour == 11:
        return Spec(hour=11, minute=minute, meridiem="am")  # "a quarter to noon"
    if base.meridiem == "am" and base.hour == 0 and hour == 23:
        return Spec(hour=23, minute=minute)
    return Spec(hour=hour, minute=minute, meridiem=base.meridiem)


_BARE_FOLLOW = (
    r"(?!\s+(?!(?:am|pm|oclock|tonight|tomorrow|today|in|at|on|this|next|morning|afternoon|"
    r"evening|night|or|and|to|till|until|through|thru|is|works|work|would|should|for|sharp|"
    r"ish|then|but|if|please|instead|tomorrows|(?:my|your|our|local)\s+time)\b|(?:{zones})\b)[a-z])"
).replace("{zones}", ZONE_ALT)


@rule(
    r"\b(?P<ctx>(?:at|@|around|about|approximately|approx|by)\s+)?(?P<h>\d{1,2})\b"
    r"(?![/:.]\d|\s*(?:%|st|nd|rd|th)\b|\s*(?:-|to)\s*\d+\s*(?:st|nd|rd|th)\b)" + _BARE_FOLLOW,
    needs="d",
)
def _bare_number(m: re.Match[str], ctx: Context) -> Spec | None:
    return _clock(int(m.group("h")), None, None, weak=not m.group("ctx"))


@rule(r"\bin\s+the\s+(?P<ap>am|pm)\b")
def _meridiem_only(m: re.Match[str], ctx: Context) -> Spec | None:
    return Spec(meridiem=m.group("ap"))


# ---- parts of day --------------------------------------------------------------------


@rule(
    r"\b(?P<this>this\s+)?(?:(?P<mod>early|late|mid)[\s-]*)?(?:in\s+the\s+|during\s+the\s+|at\s+)?"
    r"(?:(?P<mod2>early|late)\s+)?(?P<pod>morning|afternoon|evening|night)s?\b"
)
def _part_of_day(m: re.Match[str], ctx: Context) -> Spec | None:
    pod = m.group("pod")
    mod = m.group("mod") or m.group("mod2")
    if mod == "mid" and pod == "morning":
        pod = "late morning"
    elif mod in ("early", "late") and f"{mod} {pod}" in PARTS_OF_DAY:
        pod = f"{mod} {pod}"
    return Spec(pod=pod, date=ctx.today if m.group("this") else None)


@rule(
    r"\b(?P<this>this\s+)?(?:at\s+|for\s+|over\s+|during\s+|by\s+)?"
    # Ordinal words reach the rules as numbers: "first thing" arrives as "1st thing".
    r"(?P<pod>after\s+lunch|after\s+school|before\s+lunch|lunch|end\s+of\s+day|1st\s+thing|all\s+day|after\s+hours|"
    r"(?:in\s+)?the\s+early\s+hours(?:\s+of\s+the\s+morning)?)"
    r"(?:\s+in\s+the\s+morning)?\b"
)
def _named_part(m: re.Match[str], ctx: Context) -> Spec | None:
    pod = re.sub(r"\s+", " ", m.group("pod"))
    if pod == "1st thing" and not _first_thing_is_a_time(m):
        return None
    if "early hours" in pod:
        pod = "early morning"
    pod = {"before lunch": "morning", "1st thing": "early morning"}.get(pod, pod)
    return Spec(pod=pod, date=ctx.today if m.group("this") else None)


# "First thing" is the start of a working day only next to a day or a morning: "first thing
# Monday", "tomorrow first thing"; "the first thing we need" is no time.
_DAY_AFTER = re.compile(
    rf"\s*,?\s*(?:in\s+the\s+morning|(?:on\s+)?(?:tomorrow|today|{WEEKDAY_RE}(?![a-z])))"
)
_DAY_BEFORE = re.compile(r"(?:day|tomorrow|morning|\d)\s*,?\s*$")


def _first_thing_is_a_time(m: re.Match[str]) -> bool:
    if m.group(0).endswith("morning") or _DAY_AFTER.match(m.string, m.end()):
        return True
    return _DAY_BEFORE.search(m.string, max(0, m.start() - 12), m.start()) is not None


# ---- zones ---------------------------------------------------------------------------


@rule(r"\(?\b(?P<a>" + ZONE_ALT + r")\b(?:\s+time\b)?\)?")
def _zone_word(m: re.Match[str], ctx: Context) -> Spec | None:
    tz = abbreviation_zone(m.group("a"))
    return Spec(tz=tz, tz_label=m.group("a").upper()) if tz else None


@rule(
    r"\(?\b(?:utc|gmt)\s*(?P<s>[+-−])\s*(?P<h>\d{1,2})(?::?(?P<mi>\d{2}))?\b\)?"
    r"|(?<![\w:+-])(?P<s2>[+-])(?P<h2>\d{2}):?(?P<mi2>\d{2})\b",
    needs="d",
)
def _offset_zone(m: re.Match[str], ctx: Context) -> Spec | None:
    if m.group("h"):
        sign, hours, minutes = m.group("s"), int(m.group("h")), int(m.group("mi") or 0)
    else:
        sign, hours, minutes = m.group("s2"), int(m.group("h2")), int(m.group("mi2"))
    if hours > 14 or minutes > 59:
        return None
    tz = fixed_offset("-" if sign in "-−" else "+", hours, minutes)
    return Spec(tz=tz, tz_label=m.group(0).strip("() ").upper())


@rule(r"\b(?:in\s+)?(?P<c>" + alternation([*CITIES, *PLACE_TIMES]) + r")\s+time\b")
def _city_zone(m: re.Match[str], ctx: Context) -> Spec | None:
    tz = abbreviation_zone(m.group("c") + " time")
    return Spec(tz=tz, tz_label=m.group("c").title() + " time") if tz else None


# "3pm my time": a time the writer pins to a zone by whose it is, not by its name.
WHOSE_TIME = r"\b(?P<who>my|our|local|your)\s+time\b"


@rule(WHOSE_TIME)
def _whose_time(m: re.Match[str], ctx: Context) -> Spec | None:
    """ "3pm my time": the writer's own zone, the one the text is read in anyway.

    "Your time" is the reader's zone, which the text does not say, so the reading stays in the
    writer's zone and is flagged as unsure.
    """
    if m.group("who") != "your":
        return Spec()
    return Spec(notes=[("low", f"'your time' is the reader's zone; read in {ctx.tz_name}")])
