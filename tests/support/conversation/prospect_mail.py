"""Turns on the prospect's side of the mail: their replies as a mail client writes them, the same
reply delivered twice, an out-of-office answer, and a bounce from their server."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import icalendar
from sqlmodel import col

from db.models import Rep
from tests.support.conversation.script import Turn
from tests.support.conversation.world import (
    PROSPECT,
    PROSPECT_NAME,
    World,
    bare_subject,
    plain_text,
)


def _headed(*, sender: str, to: str, subject: str, now: datetime, domain: str) -> MimeMessage:
    """A new message with the headers every mail server writes first."""
    msg = MimeMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=domain)
    return msg


def _last_sent_to(w: World, address: str) -> MimeMessage:
    sent = w.mail_to(address)
    assert sent, f"nothing was sent to {address}"
    return sent[-1]


def _arrives(w: World, message: MimeMessage) -> dict[str, int]:
    """It lands in the rep's inbox and the clock's mail poll reads it; what the poll counted."""
    w.stack.deliver(bytes(message), to=w.rep.email)
    return w.stack.poll_mail()


def _reply(
    original: MimeMessage,
    text: str,
    *,
    sender: str,
    to: str,
    subject: str | None,
    in_reply_to: bool,
    references: bool,
    now: datetime,
) -> MimeMessage:
    """A reply as a mail client writes it: new text on top, the original quoted below."""
    bare = bare_subject(original["Subject"])
    msg = _headed(
        sender=sender,
        to=to,
        subject=subject.format(original=bare) if subject is not None else f"Re: {bare}",
        now=now,
        domain="mail.acme.example",
    )
    chain = [*(original["References"] or "").split(), original["Message-ID"]]
    if in_reply_to:
        msg["In-Reply-To"] = original["Message-ID"]
    if references:
        msg["References"] = " ".join(chain)
    quoted = "\n".join(f"> {line}" for line in plain_text(original).splitlines())
    msg.set_content(f"{text}\n\nOn {original['Date']} {original['From']} wrote:\n{quoted}\n")
    return msg


def prospect_replies(
    text: str,
    *,
    sender: str = PROSPECT,
    name: str = PROSPECT_NAME,
    mailbox: str = PROSPECT,
    subject: str | None = None,
    in_reply_to: bool = True,
    references: bool = True,
    client_zone: str | None = None,
    cc: Sequence[str] = (),
) -> Turn:
    """They answer the latest email in `mailbox`'s inbox (from `sender`, which a relay may have
    rewritten); the clock's next poll reads it from the rep's inbox. A `subject` may name the
    original's as "{original}". `client_zone` is where their mail client's clock is (the Date
    header's offset); by default the header says +0000, as servers write it."""

    def run(w: World) -> None:
        received = w.mail_to(mailbox)
        assert received, f"{mailbox} has received nothing to reply to"
        now = w.stack.clock.now()
        reply = _reply(
            received[-1],
            text,
            sender=f"{name} <{sender}>",
            to=f"{w.rep.name} <{w.rep.email}>",
            subject=subject,
            in_reply_to=in_reply_to,
            references=references,
            now=now.astimezone(ZoneInfo(client_zone)) if client_zone else now,
        )
        if cc:
            reply["Cc"] = ", ".join(cc)
        (rep,) = w.stack.rows(Rep, col(Rep.email) == w.rep.email)
        w.cursor_before_reply = rep.mail_cursor
        w.replies_since_cursor = 1
        w.replies.append(reply)
        _arrives(w, reply)

    how = []
    if sender != mailbox:
        how.append(f"from {sender}")
    if subject is not None:
        how.append(f"subject {subject!r}")
    if not in_reply_to:
        how.append("no In-Reply-To")
    if client_zone:
        how.append(f"their client's clock in {client_zone}")
    if cc:
        how.append(f"Cc {', '.join(cc)}")
    extra = f" ({', '.join(how)})" if how else ""
    return Turn(f"{mailbox} replies {text!r}{extra}", run)


def the_same_reply_arrives_again() -> Turn:
    """At-least-once delivery: the provider hands over the last reply again, and a poller that
    crashed before saving its cursor reads the same batch once more."""

    def run(w: World) -> None:
        assert w.replies, "no reply to repeat"
        _arrives(w, w.replies[-1])
        with w.stack.deps.uow() as uow:
            (rep,) = w.stack.rows(Rep, col(Rep.email) == w.rep.email)
            row = uow.session.get_one(Rep, rep.id)
            row.mail_cursor = w.cursor_before_reply
            uow.session.add(row)
            uow.commit()
        counts = w.stack.poll_mail()
        assert counts.get("duplicates") == 1, f"the re-read batch was counted as {counts}"

    return Turn("the same reply is delivered and read again", run)


def auto_reply_arrives(text: str, *, sender: str = PROSPECT) -> Turn:
    def run(w: World) -> None:
        original = _last_sent_to(w, sender)
        msg = _headed(
            sender=f"{PROSPECT_NAME} <{sender}>",
            to=w.rep.email,
            subject=f"Automatic reply: {original['Subject']}",
            now=w.stack.clock.now(),
            domain="mail.acme.example",
        )
        msg["In-Reply-To"] = original["Message-ID"]
        msg["Auto-Submitted"] = "auto-replied"
        msg.set_content(text)
        counts = _arrives(w, msg)
        assert counts.get("auto_replies") == 1, counts

    return Turn(f"an out-of-office reply arrives from {sender}: {text[:50]!r}…", run)


def bounce_arrives(failed: str = PROSPECT) -> Turn:
    """The receiving server refuses the address: a DSN with our email's headers attached."""

    def run(w: World) -> None:
        original = _last_sent_to(w, failed)
        report = _headed(
            sender="Mail Delivery System <MAILER-DAEMON@mx.northwind.example>",
            to=w.rep.email,
            subject="Undelivered Mail Returned to Sender",
            now=w.stack.clock.now(),
            domain="mx.northwind.example",
        )
        report["Auto-Submitted"] = "auto-replied"
        report.set_content(
            "Your message could not be delivered to one or more recipients.\n\n"
            f"<{failed}>: host mx.acme.example said: 550 5.1.1 User unknown\n"
        )
        report.make_mixed()
        report.replace_header(
            "Content-Type",
            'multipart/report; report-type="delivery-status"; boundary="dsn-boundary"',
        )
        status = MimeMessage()
        status.set_type("message/delivery-status")
        status.set_payload(
            [
                message_from_string("Reporting-MTA: dns; mx.northwind.example\n"),
                message_from_string(
                    f"Final-Recipient: rfc822; {failed}\nAction: failed\nStatus: 5.1.1\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
                ),
            ]
        )
        report.attach(status)
        headers = MimeMessage()
        headers.set_type("text/rfc822-headers")
        headers.set_payload(
            f"From: {w.rep.email}\nTo: {failed}\nSubject: {original['Subject']}\n"
            f"Message-ID: {original['Message-ID']}\n"
        )
        report.attach(headers)
        counts = _arrives(w, report)
        assert counts.get("bounces") == 1, counts

    return Turn(f"a bounce for {failed} arrives", run)


def prospect_answers_the_invite(partstat: str, *, comment: str = "") -> Turn:
    """Their calendar's answer to the booked meeting's invite (METHOD:REPLY), as Outlook or
    Google sends it when they press Decline or Maybe; `comment` is what they typed with it."""

    def run(w: World) -> None:
        request = w.request()
        assert request.calendar_event_id and request.meeting_start, "nothing is booked"
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN")
        calendar.add("version", "2.0")
        calendar.add("method", "REPLY")
        event = icalendar.Event()
        event.add("uid", request.calendar_event_id)
        event.add("dtstamp", w.stack.clock.now())
        event.add("dtstart", request.meeting_start)
        event.add("sequence", 0)
        if comment:
            event.add("comment", comment)
        attendee = icalendar.vCalAddress(f"mailto:{PROSPECT}")
        attendee.params["PARTSTAT"] = icalendar.vText(partstat)
        attendee.params["CN"] = icalendar.vText(PROSPECT_NAME)
        event.add("attendee", attendee, encode=False)
        calendar.add_component(event)
        word = {"DECLINED": "Declined", "TENTATIVE": "Tentative", "ACCEPTED": "Accepted"}
        msg = _headed(
            sender=f"{PROSPECT_NAME} <{PROSPECT}>",
            to=w.rep.email,
            subject=f"{word.get(partstat, partstat)}: {request.title or 'Meeting'}",
            now=w.stack.clock.now(),
            domain="mail.acme.example",
        )
        said = f"{PROSPECT_NAME} has {word.get(partstat, partstat).lower()} this meeting."
        msg.set_content(f"{comment}\n\n{said}" if comment else said)
        msg.add_alternative(
            calendar.to_ical(), maintype="text", subtype="calendar", params={"method": "REPLY"}
        )
        counts = _arrives(w, msg)
        assert counts.get("calendar_replies") == 1, counts

    said = f" saying {comment!r}" if comment else ""
    return Turn(f"{PROSPECT} answers the invite {partstat}{said}", run)


def replies_arrive_together(first: str, second: str, *, sender: str = PROSPECT) -> Turn:
    """Two quick replies to the latest email, both in the inbox before the next poll reads
    either (a correction sent a minute after the first answer)."""

    def run(w: World) -> None:
        received = w.mail_to(sender)
        assert received, f"{sender} has received nothing to reply to"
        (rep,) = w.stack.rows(Rep, col(Rep.email) == w.rep.email)
        w.cursor_before_reply = rep.mail_cursor
        w.replies_since_cursor = 2
        for text in (first, second):
            reply = _reply(
                received[-1],
                text,
                sender=f"{PROSPECT_NAME} <{sender}>",
                to=f"{w.rep.name} <{w.rep.email}>",
                subject=None,
                in_reply_to=True,
                references=True,
                now=w.stack.clock.now(),
            )
            w.replies.append(reply)
            w.stack.deliver(bytes(reply), to=w.rep.email)
        w.stack.poll_mail()

    return Turn(f"{sender} replies {first!r} and right after {second!r}", run)


def _invitation(w: World, address: str) -> str | None:
    """The iCalendar part of the latest invitation `address` received, if any."""
    for raw in reversed([m.raw for m in w.stack.inbox(address)]):
        message = message_from_string(raw, policy=policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                return str(part.get_content())
    return None


def prospect_answers_their_invitation(
    partstat: str, *, comment: str = "", sender: str = PROSPECT
) -> Turn:
    """They press Yes / No / Maybe on the latest invitation: their calendar mails an iCalendar
    REPLY (with their comment, if they wrote one) to the organizer."""

    def run(w: World) -> None:
        ics = _invitation(w, sender)
        assert ics is not None, f"{sender} has no invitation to answer"
        unfolded = re.sub(r"\r?\n[ \t]", "", ics)
        keep = [
            line
            for line in unfolded.splitlines()
            if line.split(":", 1)[0].split(";", 1)[0]
            in {"UID", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "ORGANIZER"}
        ]
        reply_ics = "\r\n".join(
            [
                "BEGIN:VCALENDAR",
                "PRODID:-//Acme Mail//EN",
                "VERSION:2.0",
                "METHOD:REPLY",
                "BEGIN:VEVENT",
                *keep,
                f"DTSTAMP:{w.stack.clock.now():%Y%m%dT%H%M%SZ}",
                f"ATTENDEE;PARTSTAT={partstat};CN={PROSPECT_NAME}:mailto:{sender}",
                *([f"COMMENT:{comment}"] if comment else []),
                "END:VEVENT",
                "END:VCALENDAR",
                "",
            ]
        )
        summary = next((k.split(":", 1)[1] for k in keep if k.startswith("SUMMARY")), "")
        msg = _headed(
            sender=f"{PROSPECT_NAME} <{sender}>",
            to=w.rep.email,
            subject=f"{partstat.title()}: {summary}",
            now=w.stack.clock.now(),
            domain="mail.acme.example",
        )
        msg.set_content(f"{PROSPECT_NAME} has {partstat.lower()} this invitation.\n{comment}\n")
        msg.add_alternative(reply_ics, subtype="calendar", params={"method": "REPLY"})
        _arrives(w, msg)

    said = f" saying {comment!r}" if comment else ""
    return Turn(f"{sender} answers the invitation {partstat}{said}", run)
