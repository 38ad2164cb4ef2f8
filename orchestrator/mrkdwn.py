"""Slack mrkdwn for text we did not write (prospect emails, subjects, names): made inert.

The one escaping function every Slack-bound string goes through, in the orchestrator (DMs) and
in bot/ (Block Kit), so no path can forget a case.
"""

from __future__ import annotations

import re

# How much of the prospect's words the DM quotes; the full text stays in email_messages.
QUOTE_CHARS = 600
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


def escape_mrkdwn(text: str) -> str:
    """Untrusted text made inert for Slack mrkdwn: no links, mentions or `<!channel>`.

    Slack only interprets `&`, `<` and `>` as control characters; escaping them defuses
    `<!channel>`, `<@U…>` and `<http://evil|click>`. A bare `@channel` only pings when a post
    sets `link_names`, but a zero-width joiner keeps it inert even then.
    """
    text = _CONTROL.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", text)


def quote_mrkdwn(text: str, *, limit: int = QUOTE_CHARS) -> str:
    """A Slack block quote of untrusted text, shortened with a visible note."""
    text = text.strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    lines = [escape_mrkdwn(line) for line in text.splitlines() or [""]]
    return "\n".join(f"> {line}" for line in lines)


def owner_only(slack_user_id: str) -> str:
    """The refusal for anyone but a request's rep (or their delegate) pressing its buttons."""
    return f"This belongs to <@{slack_user_id}>; only they can decide it."
