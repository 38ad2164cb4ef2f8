"""Helpers shared by the mail connector tests: realistic inbound messages and MIME inspection."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from icalendar import Calendar


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def prospect_message(
    *,
    message_id: str = "<CAF=prospect.1@mail.acme.example>",
    sender: str = "Jordan Reyes <jordan@acme.example>",
    to: str = "Sam Carter <sam@convene.example>",
    subject: str = "Re: Quick demo?",
    body: str = "Tuesday at 2pm works for me.",
    in_reply_to: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Mon, 30 Nov 2026 15:02:11 -0500"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


def text_part(msg: EmailMessage, subtype: str = "plain") -> str:
    part = next(p for p in msg.walk() if p.get_content_type() == f"text/{subtype}")
    # Text is canonical CRLF inside the base64 on the wire; compare it as Python text.
    return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


def calendar_of(msg: EmailMessage) -> tuple[str, Calendar]:
    """The text/calendar alternative: its MIME ``method`` parameter and the parsed calendar."""
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    content = part.get_content()  # type: ignore[attr-defined]
    data = content.encode() if isinstance(content, str) else content
    return str(part.get_param("method")), Calendar.from_ical(data)
