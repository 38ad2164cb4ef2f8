"""The pre-meeting brief DM as Block Kit: a pure function of
`skills.compose_pre_meeting.PreMeetingBrief`, with every time in the recipient's own zone.

Everything the prospect wrote is escaped and quoted, so their words can neither ping a channel
nor plant a link; only the join link Convene booked is shown as a link.
"""

from __future__ import annotations

from datetime import datetime

from bot.blocks import Block, context, escape, section
from orchestrator.views import when_for_rep
from skills.compose_pre_meeting import Person, PreMeetingBrief


def _person(person: Person) -> str:
    parts = [f"*{escape(person.name)}*"]
    if person.title:
        parts.append(escape(person.title))
    if person.company:
        parts.append(escape(person.company))
    # Someone known only by their address is not named twice.
    address = f" ({escape(person.email)})" if person.name != person.email else ""
    return "• " + ", ".join(parts) + address


def _day(moment: datetime, tz: str) -> str:
    """ "Tue Dec 8" in the recipient's zone."""
    return when_for_rep(moment, tz).rsplit(",", 1)[0]


def _history(brief: PreMeetingBrief) -> str:
    requested = when_for_rep(brief.requested_at, brief.timezone)
    line = f"Requested by {escape(brief.requested_by)} on {requested}."
    total = brief.emails_sent + brief.emails_received
    if total:
        days = ", ".join(dict.fromkeys(_day(m, brief.timezone) for m in brief.email_dates))
        line += (
            f" {total} email{'s' if total != 1 else ''} exchanged "
            f"({brief.emails_sent} sent, {brief.emails_received} received): {days}."
        )
    return line


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def pre_meeting_card(brief: PreMeetingBrief) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one attendee's DM."""
    when = when_for_rep(brief.start, brief.timezone)
    heading = f"{escape(brief.title)} ({escape(brief.ref)}) at {when}"
    blocks: list[Block] = [section(f":handshake: *Coming up: {heading}*")]
    if brief.join_url:
        blocks.append(section(f":link: <{escape(brief.join_url)}|Join the meeting>"))
    elif brief.place:
        blocks.append(section(f":round_pushpin: {escape(brief.place)}"))
    if brief.coming:
        who = "\n".join(_person(p) for p in brief.coming)
        blocks.append(section(f"*Who is coming*\n{who}"))
    blocks.append(section(f"*How it came about*\n{_history(brief)}"))
    if brief.last_reply:
        blocks.append(section(f"*Their last reply*\n{_quote(brief.last_reply)}"))
    if brief.questions:
        asked = "\n".join(f"• {escape(q)}" for q in brief.questions)
        blocks.append(section(f"*They asked*\n{asked}"))
    if brief.open_questions:
        still = "\n".join(f"• {escape(q)}" for q in brief.open_questions)
        blocks.append(section(f"*Still open* (asked after our last email)\n{still}"))
    blocks.append(context("Sent before each meeting Convene booked."))
    names = escape(", ".join(p.name for p in brief.coming) or "the prospect")
    return f"Coming up at {when}: {escape(brief.title)} ({escape(brief.ref)}) with {names}", blocks
