"""What a rep's note on a rejected draft says about times, as rules the slot finder obeys.

"Not Fridays", "no mornings please", "Friday afternoons are bad", "afternoons only": a rep who
rejects a draft with a note like these wants the next draft to offer other times. The note is
read clause by clause; a clause counts only when it names a weekday or a part of the day *and*
says which way ("not", "avoid", "only", "prefer", …). Anything else ("too formal") is left for
the rep to fix with Edit: guessing would put words in their mouth.

Pure: no I/O, no clock. The output uses `skills.find_slots` vocabulary: avoid rules are a
weekday (`"friday"`), a part (`"morning"`) or both (`"friday_afternoon"`); preferences are parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PARTS = ("morning", "afternoon", "evening")

# Full weekday names, and the short forms nobody uses as ordinary words ("sat" and "sun" are);
# a part of the day right after a weekday belongs to it ("Friday afternoons").
_DAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri"
_PART = r"morning|afternoon|evening"
_MENTION = re.compile(
    rf"\b(?:(?P<day>{_DAY})s?(?:\s+(?P<dpart>{_PART})s?)?|(?P<part>{_PART})s?)\b", re.I
)
_NEGATIVE = re.compile(
    r"\b(not|no|avoid|skip|never|without|except|nothing|bad|busy|out|off|blocked|"
    r"can'?t|cannot|won'?t|don'?t|doesn'?t|isn'?t|aren'?t|hate|tough|difficult)\b",
    re.I,
)
_POSITIVE = re.compile(r"\b(only|prefer|prefers|preferably|better|best|ideally|stick to)\b", re.I)
# Clauses: "not Mondays; mornings only" holds two instructions. "and" joins a list ("Tue and
# Thu mornings") unless the clause mixes both ways ("not Mondays and mornings only").
_CLAUSES = re.compile(r"[.;,!?\n]+|\b(?:but|also|plus)\b", re.I)
_AND = re.compile(r"\b(?:and|or)\b", re.I)


@dataclass(frozen=True)
class NoteRules:
    avoid: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.avoid or self.prefer)

    def describe(self) -> str:
        """ "avoiding Fridays and mornings; preferring afternoons"."""
        parts = []
        if self.avoid:
            parts.append("avoiding " + _listing(_plural(rule) for rule in self.avoid))
        if self.prefer:
            parts.append("preferring " + _listing(f"{part}s" for part in self.prefer))
        return "; ".join(parts)


def read_rep_note(note: str) -> NoteRules:
    """The avoid and prefer rules the note states; empty when it states none."""
    avoid: list[str] = []
    prefer: list[str] = []
    for clause in _clauses(note.replace("\u2019", "'")):
        rules = _mentions(clause)
        if not rules:
            continue
        if _NEGATIVE.search(clause):
            avoid += [r for r in rules if r not in avoid]
        elif _POSITIVE.search(clause) and all(r in PARTS for r in rules):
            # A preferred weekday has no rule in the slot finder; parts of the day do.
            prefer += [r for r in rules if r not in prefer]
    return NoteRules(tuple(avoid), tuple(prefer))


def _mentions(clause: str) -> list[str]:
    """Weekdays, parts and "<weekday> <part>" pairs, in order. A part pairs only with the
    weekday right before it, so "Mondays or Friday afternoons" keeps all of Monday out: when
    unsure, leaving out more times is the safer reading, and the rep sees which one was taken.
    """
    found: list[str] = []
    for match in _MENTION.finditer(clause):
        day, part = match.group("day"), (match.group("dpart") or match.group("part") or "").lower()
        if day:
            day = next(d for d in WEEKDAYS if d.startswith(day.lower()[:3]))
        rule = f"{day}_{part}" if day and part else day or part
        if rule not in found:
            found.append(rule)
    return found


def _clauses(note: str) -> list[str]:
    clauses = []
    for clause in _CLAUSES.split(note):
        mixed = _NEGATIVE.search(clause) and _POSITIVE.search(clause)
        clauses += _AND.split(clause) if mixed else [clause]
    return clauses


def _plural(rule: str) -> str:
    if rule in PARTS:
        return f"{rule}s"
    day, _, part = rule.partition("_")
    return f"{day.capitalize()} {part}s" if part else f"{day.capitalize()}s"


def _listing(items: Iterable[str]) -> str:
    names = list(items)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
