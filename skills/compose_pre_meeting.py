"""The pre-meeting brief's content: who is coming, how the meeting came about, what the prospect
said and asked, and where to join. Plain data in, plain data out; reading the rows is the
orchestrator's business (orchestrator/timers/pre_meeting.py), rendering Slack's
(bot/pre_meeting_blocks.py). No clock: everything is relative to the meeting's own start.

Company: no skill reads a signature's title or company yet, so the company is the part of the
email domain a person would say ("jo@eu.acme.co.uk" -> "Acme") and the title is left empty
rather than guessed. Questions are the sentences of the prospect's new text (quoted history and
signature removed) that end in "?"; the open ones are those asked after our last email.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from skills.clean_text import clean_line, clean_text
from skills.email_text import clean_body

# The last reply is quoted briefly: the rep reads it in a DM, not an email client.
QUOTE_CHARS = 400
MAX_QUESTIONS = 5
# Second-level labels under which a company's own name is the third level (acme.co.uk).
_SHARED_SECOND_LEVELS = {"co", "com", "org", "net", "ac", "gov", "edu"}
_QUESTION = re.compile(r"[^.!?\n]*\?")


@dataclass(frozen=True, kw_only=True)
class Person:
    name: str
    email: str
    title: str = ""
    company: str = ""


@dataclass(frozen=True, kw_only=True)
class ThreadEmail:
    direction: str  # outbound | inbound
    at: datetime
    body: str


@dataclass(frozen=True, kw_only=True)
class PreMeetingBrief:
    ref: str
    title: str
    start: datetime
    end: datetime | None
    timezone: str  # the recipient's, for the times shown
    coming: list[Person]
    requested_at: datetime
    requested_by: str
    emails_sent: int
    emails_received: int
    email_dates: list[datetime]
    last_reply: str  # the prospect's newest words, shortened; "" when they never wrote
    questions: list[str] = field(default_factory=list)
    open_questions: list[str] = field(default_factory=list)
    join_url: str = ""
    place: str = ""


def company_from_email(email: str) -> str:
    """A readable company name from an address's domain: the label before the public suffix."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    labels = [label for label in domain.split(".") if label]
    if not labels:
        return ""
    if len(labels) >= 3 and labels[-2] in _SHARED_SECOND_LEVELS and len(labels[-1]) == 2:
        name = labels[-3]
    elif len(labels) >= 2:
        name = labels[-2]
    else:
        name = labels[0]
    return " ".join(part.capitalize() for part in re.split(r"[-_]", name) if part)


def questions_in(body: str) -> list[str]:
    """The questions in an email's new part, each as one cleaned line."""
    text = clean_text(clean_body(body))
    found = [clean_line(match.group(0)) for match in _QUESTION.finditer(text)]
    return [q for q in found if len(q) > 1]


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def compose_pre_meeting(
    *,
    ref: str,
    title: str,
    start: datetime,
    end: datetime | None,
    timezone: str,
    prospects: Sequence[Person],
    requested_at: datetime,
    requested_by: str,
    emails: Sequence[ThreadEmail],
    join_url: str = "",
    place: str = "",
) -> PreMeetingBrief:
    coming = [
        Person(
            name=clean_line(p.name) or p.email,
            email=p.email,
            title=clean_line(p.title),
            company=clean_line(p.company) or company_from_email(p.email),
        )
        for p in prospects
    ]
    # Only what was exchanged before the meeting belongs in its brief.
    thread = sorted((e for e in emails if e.at < start), key=lambda e: e.at)
    inbound = [e for e in thread if e.direction == "inbound"]
    last_out = max((e.at for e in thread if e.direction == "outbound"), default=None)
    questions: list[str] = []
    open_questions: list[str] = []
    for email in inbound:
        for question in questions_in(email.body):
            if question in questions:
                continue
            questions.append(question)
            if last_out is None or email.at > last_out:
                open_questions.append(question)
    last_reply = shorten(clean_text(clean_body(inbound[-1].body))) if inbound else ""
    return PreMeetingBrief(
        ref=ref,
        title=clean_line(title),
        start=start,
        end=end,
        timezone=timezone,
        coming=coming,
        requested_at=requested_at,
        requested_by=requested_by,
        emails_sent=sum(1 for e in thread if e.direction == "outbound"),
        emails_received=len(inbound),
        email_dates=[e.at for e in thread],
        last_reply=last_reply,
        questions=questions[-MAX_QUESTIONS:],
        open_questions=open_questions[-MAX_QUESTIONS:],
        join_url=join_url,
        place=clean_line(place),
    )
