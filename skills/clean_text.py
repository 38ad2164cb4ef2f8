"""Text from outside, made safe to store and to show: the one place that decides which
characters an email may bring in.

Removed: NUL and the other C0/C1 control characters (PostgreSQL refuses NUL in text, and
terminals and Slack clients render the rest unpredictably), bidi embeddings, overrides and
isolates (they make "invoice‮fdp.exe" read as something else), zero-width and other invisible
format characters (they hide words from the rep while the model still reads them), and lone
surrogates (what undecodable header bytes become; they cannot be encoded to UTF-8 at all).
Kept: ``\\n`` and ``\\t`` in multi-line text; a single-line value also folds its whitespace.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re

_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"
_UNWANTED = re.compile(f"[{_CONTROL}{_BIDI}{_INVISIBLE}]+")
_SURROGATE = re.compile("[\ud800-\udfff]+")
# Unicode line breaks that are not "\n": each one is a new line to some software.
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")


def clean_text(value: str) -> str:
    """``value`` without control, bidi, zero-width or surrogate characters; lines end in ``\\n``."""
    value = _LINE_BREAKS.sub("\n", value)
    value = _SURROGATE.sub("\ufffd", value)
    return _UNWANTED.sub("", value)


def clean_line(value: str) -> str:
    """A single-line value (a subject, a name, a filename): cleaned, whitespace folded."""
    return " ".join(clean_text(value).split())
