"""Find atoms: run every registered recogniser and keep the longest non-overlapping matches.

Atoms work on normalised text (see ``normalize``).  They are deliberately small; the grammar
joins neighbours ("Saturday" + "morning" + "at 9") and builds ranges.  The recognisers live
in ``rules_dates``, ``rules_relative`` and ``rules_clock``; importing them registers them, and
``_MODULE_ORDER`` (then the order inside each module) decides ties.
"""

from __future__ import annotations

import re

from . import rules_clock, rules_dates, rules_relative  # noqa: F401  (registration)
from .context import Context
from .registry import RULES, Atom

# Ties go to dates, then relative expressions, then clocks, whatever the import order.
_MODULE_ORDER = ("rules_dates", "rules_relative", "rules_clock")
_ORDERED = sorted(RULES, key=lambda r: _MODULE_ORDER.index(r[1].__module__.rsplit(".", 1)[-1]))

_HAS_DIGIT = re.compile(r"\d")
_HAS_MONTH = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec")
_HAS_WEEKDAY = re.compile(r"mon|tue|wed|thu|fri|sat|sun")
_HAS_DOTTED = re.compile(r"\d\.\d")
_HAS_FOUR_DIGITS = re.compile(r"\d{4}")


def find_atoms(text: str, ctx: Context) -> list[Atom]:
    """Every atom the rules recognise, before overlaps are resolved."""
    found: list[Atom] = []
    present = set()
    if _HAS_DIGIT.search(text):
        present.add("d")
    if _HAS_MONTH.search(text):
        present.add("m")
    if _HAS_WEEKDAY.search(text):
        present.add("w")
    if "d" in present and _HAS_DOTTED.search(text):
        present.add(".")
    if "d" in present and _HAS_FOUR_DIGITS.search(text):
        present.add("4")
    for rank, (pattern, handler, needs) in enumerate(_ORDERED):
        if not needs <= present:
            continue
        for m in pattern.finditer(text):
            if m.end() == m.start():
                continue
            spec = handler(m, ctx)
            if spec is not None:
                found.append(Atom(m.start(), m.end(), rank, spec))
    return found


def select(atoms: list[Atom]) -> list[Atom]:
    """Longest non-overlapping atoms; ties go to the earlier rule."""
    chosen: list[Atom] = []
    taken: list[tuple[int, int]] = []
    for a in sorted(atoms, key=lambda x: (x.start - x.end, x.rank, x.start)):
        if all(a.end <= s or a.start >= e for s, e in taken):
            chosen.append(a)
            taken.append((a.start, a.end))
    chosen.sort(key=lambda x: x.start)
    return chosen
