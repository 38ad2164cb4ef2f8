"""The prospect's side of the mail: their company's inboxes read as threads, invites read from
their `text/calendar` part, and the replies they write, shaped as a mail client writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar
from sqlmodel import col, select

from bot.sandbox.seed import ORG, PROSPECT, REP, Contact
from bot.sandbox.world import World
from db.models import LocalMailMessage

_OFFSET = re.compile(r"(?:UTC|GMT)([+-])(\d{1,2}):?(\d{2})")


@dataclass(frozen=True)
class Invite:
    method: str
    summary: str
    start: datetime | None
    end: datetime | None
    status: str
    sequence: int
    attendees: tuple[str, ...]


@dataclass
class Mail:
    message_id: str
    sender: str
    to: str
    cc: str
    subject: str
    date: datetime | None
    body: str
    ours: bool  # written by the prospect's side (delivered by the sandbox)
    parents: list[str]
    invite: Invite | None = None


@dataclass
class Thread:
    key: str
    subject: str
    mails: list[Mail] = field(default_factory=list)

    @property
    def last(self) -> Mail:
        return self.mails[-1]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def read_mail(raw: str | bytes, *, ours: bool) -> Mail:
    message = (
        message_from_bytes(raw, policy=policy.default)
        if isinstance(raw, bytes)
        else message_from_string(raw, policy=policy.default)
    )
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    parents = (
        str(message.get("References", "")).split() + str(message.get("In-Reply-To", "")).split()
    )
    date = None
    if message["Date"]:
        try:
            date = parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            date = None
    return Mail(
        message_id=str(message.get("Message-ID", "")).strip(),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        cc=str(message.get("Cc", "") or ""),
        subject=str(message.get("Subject", "")),
        date=date,
        body=str(text).rstrip(),
        ours=ours,
        parents=[p for p in parents if p.startswith("<")],
        invite=_invite(message),
    )


def _invite(message: EmailMessage) -> Invite | None:
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        calendar = Calendar.from_ical(payload)
        for event in calendar.walk("VEVENT"):
            start, end = event.get("DTSTART"), event.get("DTEND")
            return Invite(
                method=str(calendar.get("METHOD", "")),
                summary=str(event.get("SUMMARY", "")),
                start=_moment(start),
                end=_moment(end),
                status=str(event.get("STATUS", "")),
                sequence=int(event.get("SEQUENCE", 0)),
                attendees=tuple(
                    str(a).removeprefix("mailto:").removeprefix("MAILTO:")
                    for a in _as_list(event.get("ATTENDEE"))
                ),
            )
    return None


def _moment(prop: Any) -> datetime | None:
    """A DTSTART/DTEND as an aware datetime: a TZID the parser left unapplied is applied here."""
    if prop is None or not isinstance(prop.dt, datetime):
        return None
    moment: datetime = prop.dt
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(str(prop.params.get("TZID", "UTC"))))
    return moment


def _zone(tzid: str) -> tzinfo:
    """An IANA name, or a fixed offset written as `UTC-05:00` (as a lenient client reads it)."""
    if offset := _OFFSET.fullmatch(tzid):
        sign = -1 if offset.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return ZoneInfo(tzid)
    except (ValueError, ZoneInfoNotFoundError):
        return UTC


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def prospect_threads(world: World, *, domain: str | None = None) -> list[Thread]:
    """Every email the prospect's company got from us, and every one they wrote, in threads."""
    domain = domain or _domain(PROSPECT.email)
    with world.deps.sessions() as session:
        rows = list(
            session.exec(
                select(LocalMailMessage)
                .where(
                    col(LocalMailMessage.org_id) == ORG,
                    col(LocalMailMessage.folder) == "inbox",
                )
                .order_by(col(LocalMailMessage.created_at), col(LocalMailMessage.message_id))
            )
        )
    seen: set[str] = set()
    mails: list[Mail] = []
    for row in rows:
        theirs = _domain(row.mailbox) == domain
        written = _domain(row.sender) == domain and not theirs
        if not (theirs or written) or row.message_id in seen:
            continue
        seen.add(row.message_id)
        mails.append(read_mail(row.raw, ours=written))
    return _threads(mails)


def _threads(mails: list[Mail]) -> list[Thread]:
    """Messages joined by their In-Reply-To and References, as a mail client threads them."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.get(key, key) != key:
            key = parent[key]
        return key

    for mail in mails:
        parent.setdefault(mail.message_id, mail.message_id)
        for other in mail.parents:
            parent.setdefault(other, other)
            a, b = root(mail.message_id), root(other)
            if a != b:
                parent[a] = b
    threads: dict[str, Thread] = {}
    for mail in mails:
        key = root(mail.message_id)
        thread = threads.setdefault(key, Thread(key=key, subject=mail.subject))
        thread.mails.append(mail)
    return list(threads.values())


def reply_to(
    original: Mail, *, text: str, sender: Contact, now: datetime, quote: bool = True
) -> tuple[bytes, str]:
    """The prospect's reply to `original` as Gmail writes it (the new text, then the quoted
    thread unless left out); returns the message and the address it goes to."""
    # Answering their own last message, as in a mail client, goes to whom that one went to.
    recipient = original.to if original.ours else original.sender
    to = next((a for _, a in getaddresses([recipient]) if a), REP.email)
    message = EmailMessage()
    message["From"] = sender.address
    message["To"] = recipient
    subject = original.subject
    message["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=f"mail.{_domain(sender.email)}")
    if original.message_id:
        message["In-Reply-To"] = original.message_id
        message["References"] = " ".join([*original.parents, original.message_id][-10:])
    body = text.rstrip() + "\n"
    if quote and original.body:
        when = format_datetime(original.date) if original.date else "earlier"
        quoted = "\n".join(f"> {line}" for line in original.body.splitlines())
        body += f"\nOn {when}, {original.sender} wrote:\n{quoted}\n"
    message.set_content(body)
    return bytes(message), to
