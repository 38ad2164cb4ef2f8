"""Join atoms into expressions: merges, ranges, lists, operators, exclusions.

Two neighbouring atoms join when the text between them is only glue ("at", "on", commas,
"the") and they say different things ("Saturday" + "at 9").  A range connector ("-", "to",
"until", "and" after "between") between two atoms of the same kind makes a range.  Words just
before an expression change its meaning: "not"/"except" exclude it, "after"/"from" open it,
"before"/"by" make it a deadline.  Lists ("Tue or Wed afternoon") share trailing qualifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from .atoms import find_atoms, select
from .context import Context
from .durations import shift_instant
from .normalize import Normalized
from .spec import Spec, merge

_GLUE = re.compile(
    r"(?:[\s,;:()'\"/@]|-|\.(?!\s)|\b(?:at|on|in|of|for|the|around|about|approx|approximately|from|"
    r"starting|beginning|this|by|sharp|ish|between)\b)*"
)
_RANGE = re.compile(
    r"[\s,'\"()]*(?:(?:from|between)\s+)?(?P<w>-|–|—|to|until|untill|till|til|through|thru|and|"
    r"but\s+before|\.\.)[\s'\"()]*(?:the\s+|at\s+|on\s+)?"
)
_INNER = re.compile(
    r"\s*(?:any\s*time\s+)?(?:(?P<after>after|since|starting(?:\s+(?:at|from))?|not\s+before|"
    r"no\s+earlier\s+than|later\s+than)|(?P<before>before|by|no\s+later\s+than|not\s+after|"
    r"earlier\s+than|until|till))\s+"
)
_LIST = re.compile(
    r"[\s,]*(?:,|or|and|nor|/|or\s+maybe|and\s+also|or\s+else|or\s+even)[\s,]*"
    r"(?:on\s+|at\s+|the\s+)?"
)
_NEG_WORDS = (
    r"not|except|excluding|other\s+than|apart\s+from|besides|anything\s+but|any\s+day\s+but|"
    r"anytime\s+but|any\s+time\s+but|but\s+not|no|never|can['’]?t\s+(?:do|make|meet|attend)|"
    r"cannot\s+(?:do|make|meet|attend)|unavailable|not\s+available|busy|out\s+of\s+(?:the\s+)?"
    r"office|ooo|off|away|won['’]?t\s+be\s+(?:available|around|in)"
)
_PREFIX = re.compile(
    rf"(?:\b(?P<neg>{_NEG_WORDS})\s+(?:on\s+|at\s+|for\s+)?"
    r"|\b(?P<after>after|since|from|starting(?:\s+(?:from|at))?|no\s+earlier\s+than|not\s+before|"
    r"later\s+than|any\s*time\s+after|anytime\s+from)\s+"
    r"|\b(?P<before>before|until|till|by|no\s+later\s+than|not\s+after|earlier\s+than)\s+"
    r"|\b(?P<between>between|in\s+between)\s+)(?:the\s+)?$"
)
_SUFFIX_NEG = re.compile(
    r"\s*(?:(?:is|are)\s+)?(?:(?:doesn['’]?t|does\s+not|won['’]?t|will\s+not|don['’]?t|do\s+not)"
    r"\s+work|(?:is|are)\s+(?:out|bad|booked|taken|full|impossible|no\s+good|"
    r"not\s+(?:good|possible|great|ideal|an\s+option)))\b"
)


@dataclass(slots=True)
class Expression:
    """One time expression: canonical-text span and what it says."""

    start: int
    end: int
    spec: Spec
    prefixed: bool = False


def _kind(s: Spec) -> str:
    if s.interval is not None or s.instant is not None:
        return "period"
    if s.has_clock() and s.has_date():
        return "datetime"
    if s.has_clock():
        return "clock"
    if s.has_date():
        return "date"
    if s.pod is not None:
        return "pod"
    return "other"


def _range_ok(a: Spec, b: Spec, word: str, between: bool) -> bool:
    if word == "and" and not between:
        return False
    ka, kb = _kind(a), _kind(b)
    if ka == kb and ka in ("clock", "date", "datetime", "period"):
        return True
    return (ka, kb) in {
        ("datetime", "clock"),
        ("clock", "datetime"),
        ("date", "period"),
        ("period", "date"),
    }


def _distribute(rng: Spec, other: Spec, *, other_first: bool) -> Spec | None:
    """Apply a shared qualifier to a range's ends ("9:30-11:00 on Thursday")."""
    assert rng.end is not None
    head = rng.copy()
    head.end = None
    tail = rng.end
    new_head = merge(other, head) if other_first else merge(head, other)
    weekday_only = other.weekday is not None and not other.has_clock() and other.month is None
    new_tail = None if weekday_only else (merge(other, tail) if other_first else merge(tail, other))
    if new_head is None and new_tail is None:
        return None
    out = new_head or head
    out.end = new_tail or tail
    return out


def _combine(cur: Spec, nxt: Spec, gap: str, between: bool, ctx: Context) -> Spec | None:
    glue = _GLUE.fullmatch(gap) is not None
    if cur.op is not None:
        return cur.op(nxt) if glue and nxt.op is None and nxt.end is None else None
    if nxt.op is not None:
        return None
    if nxt.shift is not None and gap.strip() == "" and cur.end is None:
        if cur.instant is not None and cur.shift is None:
            out = cur.copy()
            out.instant = shift_instant(cur.instant, nxt.shift[0], nxt.shift[1], ctx)
            return out
        if cur.has_date() and cur.shift is None:
            out = cur.copy()
            out.shift = nxt.shift
            return out
        return None
    rng = _RANGE.fullmatch(gap)
    if rng and cur.end is None and nxt.end is None and _range_ok(cur, nxt, rng.group("w"), between):
        out = cur.copy()
        out.end = nxt
        return out
    inner = _INNER.fullmatch(gap) if not glue else None
    if (
        inner
        and cur.end is None
        and nxt.end is None
        and {_kind(cur), _kind(nxt)} == {"date", "clock"}
    ):
        # "tomorrow after 4pm": the day and the bound belong together.
        bounded = merge(cur, nxt)
        if bounded is not None:
            bounded.open_end = bool(inner.group("after"))
            bounded.before = bool(inner.group("before"))
        return bounded
    if not glue:
        return None
    if _weekday_of_week(cur, nxt, gap):
        # "3 weeks after Christmas on Friday": the Friday of the week that offset lands in.
        assert cur.date is not None and nxt.weekday is not None
        out = cur.copy()
        out.date = cur.date + timedelta(days=nxt.weekday - cur.date.weekday())
        out.notes.append(("medium", "took the weekday named within the week of the date"))
        return out
    if cur.end is not None and nxt.end is None:
        return _distribute(cur, nxt, other_first=False)
    if nxt.end is not None and cur.end is None:
        return _distribute(nxt, cur, other_first=True)
    return merge(cur, nxt)


def _weekday_of_week(cur: Spec, nxt: Spec, gap: str) -> bool:
    only_weekday = (
        nxt.weekday is not None
        and nxt.weekday_mode == "bare"
        and not nxt.has_clock()
        and nxt.month is None
        and nxt.day is None
        and nxt.date is None
        and nxt.holiday is None
    )
    return (
        only_weekday
        and cur.date is not None
        and cur.end is None
        and cur.shift is None
        and re.search(r"\bon\b", gap) is not None
    )


def _meaningful(s: Spec, prefixed: bool, whole: bool) -> bool:
    if s.op is not None:
        return False
    if s.end is not None:
        both_weak = s.weak and s.end.weak
        return not both_weak or prefixed or whole
    if s.interval is not None or s.instant is not None or s.has_clock():
        return not s.weak or prefixed or whole
    if s.pod is not None or s.date is not None or s.holiday is not None or s.anaphor:
        return True
    return s.month is not None or s.day is not None or s.weekday is not None


def parse_expressions(norm: Normalized, ctx: Context, *, whole: bool = False) -> list[Expression]:
    """All expressions in canonical text, in order.

    ``whole`` means the text is meant as a single expression, so a bare "2" is a time.
    """
    text = norm.text
    atoms = select(find_atoms(text, ctx))
    out: list[Expression] = []
    gaps: list[str] = []
    i = 0
    prev_end = 0
    while i < len(atoms):
        first = atoms[i]
        prefix = _PREFIX.search(text, max(prev_end, first.start - 40), first.start)
        between = bool(prefix and prefix.group("between"))
        cur = first.spec.copy()
        start, end = first.start, first.end
        j = i + 1
        while j < len(atoms):
            gap = text[end : atoms[j].start]
            between = between or "between" in gap
            combined = _combine(cur, atoms[j].spec, gap, between, ctx)
            if combined is None:
                break
            cur, end = combined, atoms[j].end
            j += 1
        prefixed = False
        if prefix is not None:
            prefixed = True
            start = prefix.start()
            if prefix.group("neg"):
                cur.excluded = True
            elif prefix.group("after"):
                cur.open_end = cur.end is None
            elif prefix.group("before"):
                # "by Friday 3pm" is a deadline; "by the end of month" keeps its period.
                cur.before = cur.end is None and cur.interval is None
        suffix = _SUFFIX_NEG.match(text, end)
        if suffix:
            cur.excluded = True
            end = suffix.end()
        if _meaningful(cur, prefixed, whole):
            gaps.append(text[prev_end:start] if out else "")
            out.append(Expression(start, end, cur, prefixed))
        prev_end = end
        i = j
    _share_list_qualifiers(out, gaps)
    _share_list_days(out, gaps)
    return out


# "Friday 11am EST (4pm GMT)", "(that's 2:30 pm yours)": the same time in another zone.
_ECHO = re.compile(r"\s*\(\s*(?:that['’]?s|that\s+is|i\.?e\.?,?|or)?\s*")


def _share_list_days(exprs: list[Expression], gaps: list[str]) -> None:
    """ "Friday at 9am, 11am or 3pm": clocks listed after a dated clock are on its day."""
    for k in range(1, len(exprs)):
        if not (_LIST.fullmatch(gaps[k]) or _ECHO.fullmatch(gaps[k])):
            continue
        a, b = exprs[k - 1].spec, exprs[k].spec
        if a.end is not None or b.end is not None or _kind(a) != "datetime" or _kind(b) != "clock":
            continue
        day = Spec(
            year=a.year,
            month=a.month,
            day=a.day,
            weekday=a.weekday,
            weekday_mode=a.weekday_mode,
            date=a.date,
            holiday=a.holiday,
            excluded=b.excluded,
        )
        merged = merge(b, day)
        if merged is not None:
            exprs[k].spec = merged


def _share_list_qualifiers(exprs: list[Expression], gaps: list[str]) -> None:
    """ "Tue or Wed afternoon": earlier list items take the last item's time of day."""
    for k in range(len(exprs) - 1, 0, -1):
        if not _LIST.fullmatch(gaps[k]):
            continue
        a, b = exprs[k - 1].spec, exprs[k].spec
        if b.excluded and not a.excluded:
            continue
        if a.excluded and not b.excluded and re.search(r"\b(?:or|and|nor)\b", gaps[k]):
            b.excluded = True  # "not Monday or Tuesday"
        if a.end is not None or b.end is not None:
            continue
        if _kind(a) == "date" and (b.has_clock() or b.pod is not None):
            extra = Spec(
                hour=b.hour,
                minute=b.minute,
                meridiem=b.meridiem,
                pod=b.pod,
                tz=b.tz,
                tz_label=b.tz_label,
                excluded=a.excluded,
            )
        elif _kind(a) == "clock" and b.has_date():
            extra = Spec(
                year=b.year,
                month=b.month,
                day=b.day,
                weekday=b.weekday,
                weekday_mode=b.weekday_mode,
                date=b.date,
                holiday=b.holiday,
                excluded=a.excluded,
            )
        else:
            continue
        merged = merge(a, extra)
        if merged is not None:
            exprs[k - 1].spec = merged
