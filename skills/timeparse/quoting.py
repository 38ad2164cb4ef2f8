"""Blank out quoted history in an email body, keeping every offset where it was."""

from __future__ import annotations

import re

from skills.email_text import QUOTED_LINE, history_start


def mask_quoted(text: str) -> str:
    """``text`` with quoted lines and everything after a reply header replaced by spaces."""
    start = history_start(text)
    if start is not None:
        text = text[:start] + re.sub(r"[^\n]", " ", text[start:])
    return QUOTED_LINE.sub(lambda q: " " * len(q.group(0)), text)
