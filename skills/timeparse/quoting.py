"""Blank out quoted history in an email body, keeping every offset where it was."""

from __future__ import annotations

import re

# Reply headers that start the quoted history: Gmail/Apple "On <date>, <who> wrote:" (may
# wrap onto a second line), Outlook's "-----Original Message-----" and "From: ... Sent: ...".
_HISTORY = re.compile(
    r"^[ \t]*On\b[^\n]{0,300}(?:\n[^\n]{0,200})?\bwrote:[ \t]*$"
    r"|^[ \t]*-{2,}\s*Original Message\s*-{2,}"
    r"|^[ \t]*_{10,}[ \t]*$"
    r"|^[ \t]*From:[^\n]*\n(?:[ \t]*[A-Za-z-]+:[^\n]*\n)*?[ \t]*(?:Sent|Date):",
    re.MULTILINE | re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>[^\n]*", re.MULTILINE)


def mask_quoted(text: str) -> str:
    """``text`` with quoted lines and everything after a reply header replaced by spaces."""
    m = _HISTORY.search(text)
    if m:
        text = text[: m.start()] + re.sub(r"[^\n]", " ", text[m.start() :])
    return _QUOTED_LINE.sub(lambda q: " " * len(q.group(0)), text)
