"""SmtpImapMailbox against a real SMTP server (aiosmtpd) and a real IMAP server (pymap)."""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.clock import ManualClock
from connectors.errors import PermanentError, ReconnectRequired, TransientError
from connectors.mail.invitations import Invite, Invitee, build_ics
from connectors.mail.mime import UnsafeHeaderError
from connectors.mail.outbound import prepare
from connectors.mail.smtp_imap import SmtpImapMailbox
from connectors.ports import OutboundEmail
from tests.fakes.mail import calendar_of, parse, prospect_message, text_part
from tests.fakes.mailservers import SmtpSink, free_port, imap_server, smtp_server

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def imap_port() -> Iterator[int]:
    with imap_server() as port:
        yield port


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    with smtp_server() as server:
        yield server


def mailbox(smtp_port: int, imap_port: int, **overrides: object) -> SmtpImapMailbox:
    options: dict[str, object] = {
        "clock": ManualClock(T0),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "none",
        "imap_host": "127.0.0.1",
        "imap_port": imap_port,
        "imap_ssl": False,
        "username": "sam",
        "password": "pw",
        "timeout": 5,
    }
    options.update(overrides)
    return SmtpImapMailbox(**options)  # type: ignore[arg-type]


def email(n: str, **overrides: object) -> OutboundEmail:
    fields: dict[str, object] = {
        "message_id": f"<job{n}.email_initial@convene.example>",
        "sender": "Sam Carter <sam@convene.example>",
        "to": ("Jordan Reyes <jordan@acme.example>",),
        "cc": ("ops@acme.example",),
        "subject": "Quick demo?",
        "body": "Hi Jordan,\n\nWould Tuesday at 2pm ET work?",
    }
    fields.update(overrides)
    return OutboundEmail(**fields)  # type: ignore[arg-type]


def imap_append(port: int, raw: bytes, folder: str = "INBOX") -> None:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    imap.login("sam", "pw")
    # Internal date near the test clock, so SINCE searches do not depend on the machine's date.
    when = imaplib.Time2Internaldate(T0 - timedelta(hours=1))
    assert imap.append(folder, None, when, raw)[0] == "OK"
    imap.logout()


def test_send_delivers_envelope_and_files_a_sent_copy(
    smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    sink, port = smtp
    box = mailbox(port, imap_port)
    outbound = prepare(email("s1"), signature="Sam Carter\nAccount Executive, Convene")

    sent = box.send(outbound)

    [delivery] = sink.deliveries
    assert delivery.mail_from == "sam@convene.example"
    assert delivery.rcpt_tos == ["jordan@acme.example", "ops@acme.example"]
    msg = parse(delivery.content)
    assert msg["Message-ID"] == "<jobs1.email_initial@convene.example>"
    assert msg["Subject"] == "Quick demo?"
    assert text_part(msg) == (
        "Hi Jordan,\n\nWould Tuesday at 2pm ET work?\n\n-- \nSam Carter\n"
        "Account Executive, Convene\n"
    )
    assert "<p>Hi Jordan,</p>" in text_part(msg, "html")
    assert (sent.provider_id, sent.thread_id) == (
        "<jobs1.email_initial@convene.example>",
        "<jobs1.email_initial@convene.example>",
    )
    found = box.find_sent(sender="sam@convene.example", message_id=sent.message_id)
    assert found == sent


def test_reply_threads_by_references_and_carries_the_invite(
    smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    sink, port = smtp
    start = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)
    invite = Invite(
        uid="req-7@convene.example",
        sequence=1,
        start=start,
        end=start + timedelta(minutes=45),
        summary="Convene demo",
        organizer_email="sam@convene.example",
        organizer_name="Sam Carter",
        attendees=(Invitee("jordan@acme.example", "Jordan Reyes"),),
    )
    outbound = email(
        "s2",
        message_id="<jobs2.email_confirmation@convene.example>",
        in_reply_to="<CAF=prospect.2@mail.acme.example>",
        references=("<jobs2.email_initial@convene.example>",),
        ics=build_ics(invite, method="REQUEST", stamp=T0),
    )

    sent = mailbox(port, imap_port).send(outbound)

    msg = parse(sink.deliveries[0].content)
    assert msg["In-Reply-To"] == "<CAF=prospect.2@mail.acme.example>"
    assert msg["References"].split() == [
        "<jobs2.email_initial@convene.example>",
        "<CAF=prospect.2@mail.acme.example>",
    ]
    assert msg["Subject"] == "Re: Quick demo?"
    assert sent.thread_id == "<jobs2.email_initial@convene.example>"
    method, calendar = calendar_of(msg)
    assert method == "REQUEST"
    event = calendar.events[0]
    assert (str(event["UID"]), int(event["SEQUENCE"]), str(event["ORGANIZER"])) == (
        "req-7@convene.example",
        1,
        "mailto:sam@convene.example",
    )
    [attachment] = [p for p in msg.walk() if p.get_content_type() == "application/ics"]
    assert attachment.get_filename() == "invite.ics"


def test_timeout_after_the_server_accepted_is_reconciled_from_sent(imap_port: int) -> None:
    with smtp_server() as (sink, port):
        sink.delay_after_store = 2.0  # DATA stored, the 250 comes too late
        box = mailbox(port, imap_port, timeout=0.5)
        outbound = email("s3")
        with pytest.raises(TransientError):
            box.send(outbound)
        assert len(sink.deliveries) == 1
        # Providers that file SMTP sends in Sent themselves (what save_sent=False is for):
        imap_append(imap_port, sink.deliveries[0].content, folder="Sent")
        sink.delay_after_store = 0.0

        # The retry is a later attempt with the normal timeout; 0.5 s was only to make the
        # first send time out, and IMAP on a loaded machine can take longer than that.
        retry = mailbox(port, imap_port)
        found = retry.find_sent(sender=outbound.sender, message_id=outbound.message_id)
        sent = found or retry.send(outbound)

    assert found is not None and sent.message_id == outbound.message_id
    assert len(sink.deliveries) == 1


def test_find_sent_is_none_for_an_unsent_message(
    smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    box = mailbox(smtp[1], imap_port)
    assert box.find_sent(sender="sam@convene.example", message_id="<never@convene.example>") is None


def test_fetch_new_reads_only_what_arrived_after_the_cursor(
    smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    box = mailbox(smtp[1], imap_port)
    start = box.fetch_new(None)
    assert start.messages == []

    for n in range(3):
        imap_append(
            imap_port,
            prospect_message(
                message_id=f"<in{n}@acme.example>",
                in_reply_to="<jobs1.email_initial@convene.example>",
                body=f"Reply {n}",
            ),
        )
    batch = box.fetch_new(start.cursor)

    assert [parse(m.raw)["Message-ID"] for m in batch.messages] == [
        "<in0@acme.example>",
        "<in1@acme.example>",
        "<in2@acme.example>",
    ]
    assert {m.thread_id for m in batch.messages} == {"<jobs1.email_initial@convene.example>"}
    assert len({m.provider_id for m in batch.messages}) == 3
    assert box.fetch_new(batch.cursor).messages == []
    # Reading does not mark the rep's mail as read.
    imap = imaplib.IMAP4("127.0.0.1", imap_port, timeout=5)
    imap.login("sam", "pw")
    imap.select("INBOX", readonly=True)
    typ, data = imap.search(None, "UNSEEN", "HEADER", "Message-ID", '"<in0@acme.example>"')
    assert (typ, len(data[0].split())) == ("OK", 1)
    imap.logout()


def test_changed_uidvalidity_rereads_recent_mail(
    smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    box = mailbox(smtp[1], imap_port)
    imap_append(imap_port, prospect_message(message_id="<recent@acme.example>"))

    batch = box.fetch_new("1:999999")

    ids = [str(parse(m.raw)["Message-ID"]) for m in batch.messages]
    assert "<recent@acme.example>" in ids


def test_smtp_rejected_recipient_is_permanent(imap_port: int) -> None:
    with smtp_server() as (sink, port):
        sink.rcpt_reply = "550 5.1.1 No such user"
        with pytest.raises(PermanentError, match="recipients refused"):
            mailbox(port, imap_port).send(email("s4"))
        assert sink.deliveries == []


def test_smtp_greylisting_is_transient(imap_port: int) -> None:
    with smtp_server() as (sink, port):
        sink.rcpt_reply = "451 4.7.1 Greylisted, try again later"
        with pytest.raises(TransientError, match="recipients refused"):
            mailbox(port, imap_port).send(email("s5"))


def test_smtp_data_rejected_is_permanent(imap_port: int) -> None:
    with smtp_server() as (sink, port):
        sink.reply = "554 5.7.1 Message rejected as spam"
        with pytest.raises(PermanentError, match="554"):
            mailbox(port, imap_port).send(email("s6"))


def test_smtp_unreachable_is_transient(imap_port: int) -> None:
    with pytest.raises(TransientError, match="smtp"):
        mailbox(free_port(), imap_port).send(email("s7"))


def test_imap_bad_password_asks_to_reconnect(smtp: tuple[SmtpSink, int], imap_port: int) -> None:
    box = mailbox(smtp[1], imap_port, password="wrong")
    with pytest.raises(ReconnectRequired, match="imap: login refused"):
        box.fetch_new(None)


def test_smtp_auth_refused_asks_to_reconnect(imap_port: int) -> None:
    with smtp_server(password="rotated") as (sink, port):
        with pytest.raises(ReconnectRequired, match="smtp: login refused \\(535\\)"):
            mailbox(port, imap_port).send(email("s8"))
        assert sink.deliveries == []


def test_unsafe_header_is_refused_before_connecting(imap_port: int) -> None:
    box = mailbox(free_port(), imap_port)
    with pytest.raises(UnsafeHeaderError):
        box.send(email("s9", sender="Sam\nBcc: x@evil.example <sam@convene.example>"))
