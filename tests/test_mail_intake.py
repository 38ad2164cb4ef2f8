"""Reply intake, end to end: the first email goes out through the real flow (signed /schedule,
approve, undo window, clock tick); the prospect's answers land in the rep's embedded inbox; the
clock's poll and the worker do the rest. Runs on SQLite + fakeredis and PostgreSQL + Redis."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, make_msgid

import icalendar
from sqlmodel import col

from connectors.clock import ManualClock
from connectors.mail.local import LocalMailbox
from db.engine import make_engine, make_session_factory
from db.models import (
    EmailMessage,
    PendingAction,
    Rep,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.commands import own_requests
from tests.support.stack import REP_EMAIL, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
FORWARDER = "j.doe@acme-relay.example"


# --- the first email, sent the way a rep sends it ----------------------------------------------


def send_first_email(stack: Stack) -> MimeMessage:
    """The real flow up to the prospect's inbox; returns the email as the prospect got it."""
    assert "ACME-1" in stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    card = wait_for(stack.cards, "the approval card")[0]
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approval")
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    # The clock has been polling all along; this first poll starts the rep's cursor.
    assert stack.poll_mail() == {"mailboxes": 1}
    (received,) = stack.inbox(PROSPECT)
    message = message_from_string(received.raw, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


def a_reply(
    original: MimeMessage,
    text: str,
    *,
    sender: str = f"John Doe <{PROSPECT}>",
    subject: str | None = None,
    in_reply_to: bool = True,
    references: bool = True,
    quote: bool = True,
) -> MimeMessage:
    """A prospect's reply as Gmail writes it: new text, then the quoted original."""
    msg = MimeMessage()
    msg["From"] = sender
    msg["To"] = f"Rita Moreno <{REP_EMAIL}>"
    msg["Subject"] = subject if subject is not None else f"Re: {original['Subject']}"
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 16, 5, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="mail.acme.example")
    if in_reply_to:
        msg["In-Reply-To"] = original["Message-ID"]
    if references:
        msg["References"] = original["Message-ID"]
    body = text
    if quote:
        plain = original.get_body(preferencelist=("plain",))
        assert isinstance(plain, MimeMessage)
        quoted = "\n".join(f"> {line}" for line in plain.get_content().splitlines())
        body += f"\n\nOn Mon, Nov 30, 2026 at 9:00 AM Rita Moreno <{REP_EMAIL}> wrote:\n{quoted}\n"
    msg.set_content(body)
    return msg


def deliver(stack: Stack, message: MimeMessage) -> None:
    stack.deliver(bytes(message))


# --- what the tests look at --------------------------------------------------------------------


def the_request(stack: Stack) -> SchedulingRequest:
    (request,) = stack.rows(SchedulingRequest)
    return request


def reply_jobs(stack: Stack) -> list[SequenceJob]:
    return stack.rows(SequenceJob, col(SequenceJob.event_type) == "email_received")


def inbound(stack: Stack) -> list[EmailMessage]:
    return stack.rows(EmailMessage, col(EmailMessage.direction) == "inbound")


def dms(stack: Stack) -> list[str]:
    """Plain-text DMs to the rep (cards have blocks; these are notices)."""
    return [m.text for m in stack.slack.messages if m.channel == f"D{REP_ID}" and not m.blocks]


def audit(stack: Stack, kind: str) -> list[SchedulingAction]:
    return stack.rows(SchedulingAction, col(SchedulingAction.action_type) == kind)


def assert_reply_understood(stack: Stack, reply: MimeMessage, *, matched_by: str) -> SequenceJob:
    (job,) = reply_jobs(stack)
    (row,) = inbound(stack)
    request = the_request(stack)
    assert row.request_id == request.id
    assert row.message_id == reply["Message-ID"]
    assert job.request_id == request.id
    assert job.trigger_payload == {"email_message_id": str(row.id), "matched_by": matched_by}
    # Intake's part ends once the rep is told; what the negotiator does next (stop, or park on
    # a booking/counter draft) is tested in tests/test_negotiation.py.
    assert job.steps_completed == ["understand_reply", "assess", "tell_rep", "respond"]
    drafted = stack.rows(PendingAction, col(PendingAction.job_id) == job.id)
    assert job.status == ("waiting_approval" if drafted else "done")
    return job


# --- the embedded mailbox as a MailReader ------------------------------------------------------


def a_note(n: int, *, to: str = REP_EMAIL) -> bytes:
    msg = MimeMessage()
    msg["From"] = PROSPECT
    msg["To"] = to
    msg["Subject"] = f"Note {n}"
    msg["Message-ID"] = f"<note-{n}@mail.acme.example>"
    msg.set_content(f"Note number {n}.")
    return bytes(msg)


def test_local_cursor_starts_from_now_and_never_skips_same_instant_mail(
    sqlite_url: str, clock: ManualClock
) -> None:
    engine = make_engine(sqlite_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.add(Rep(org_id="T1", slack_user_id="U1", email=REP_EMAIL, created_at=clock.now()))
        session.commit()
    box = LocalMailbox(sessions, clock=clock).reader_for(REP_EMAIL)
    mailbox = LocalMailbox(sessions, clock=clock)

    mailbox.deliver(a_note(1), to=REP_EMAIL)
    start = box.fetch_new(None)
    assert start.messages == [], "None starts from now: mail already there is not new"
    # Same clock instant as the cursor: a timestamp-only cursor would skip these.
    mailbox.deliver(a_note(2), to=REP_EMAIL)
    mailbox.deliver(a_note(3), to=REP_EMAIL)
    mailbox.deliver(a_note(4), to=PROSPECT)  # someone else's inbox is not ours to read
    batch = box.fetch_new(start.cursor)
    subjects = sorted(message_from_bytes(m.raw)["Subject"] for m in batch.messages)
    assert subjects == ["Note 2", "Note 3"]
    assert box.fetch_new(batch.cursor).messages == []
    clock.advance(timedelta(seconds=1))
    mailbox.deliver(a_note(5), to=REP_EMAIL)
    (latest,) = box.fetch_new(batch.cursor).messages
    assert b"Note 5" in latest.raw
    assert box.fetch_new(start.cursor).messages != [], "an old cursor re-reads (at least once)"
    engine.dispose()


# --- (i) the precondition every match relies on --------------------------------------------------


def test_thread_id_is_captured_on_the_request_after_the_first_send(stack: Stack) -> None:
    original = send_first_email(stack)
    request = the_request(stack)
    assert request.email_thread_id == original["Message-ID"]
    (outbound,) = stack.rows(EmailMessage, col(EmailMessage.direction) == "outbound")
    assert outbound.thread_id == request.email_thread_id
    assert outbound.message_id == original["Message-ID"]
    assert outbound.request_id == request.id


# --- (a) (b) (c) matching ----------------------------------------------------------------------


def test_reply_in_thread_is_understood_and_the_rep_is_told(stack: Stack) -> None:
    original = send_first_email(stack)
    reply = a_reply(original, "Hi Rita,\n\nThe first option works for me.\n\nBest,\nJohn")
    deliver(stack, reply)

    assert stack.poll_mail() == {"mailboxes": 1, "dispatched": 1}

    job = assert_reply_understood(stack, reply, matched_by="thread")
    request = the_request(stack)
    first_slot = request.proposed_slots[0]["start"]
    analysis = job.outputs["understand_reply"]
    assert analysis["intent"] == "accept"
    assert analysis["confidence"] == "high"
    assert analysis["matched_slot"] == first_slot
    assert analysis["escalate"] is False
    assert request.status == RequestStatus.negotiating
    (seen,) = audit(stack, "reply_received")
    assert seen.actor == "prospect"
    assert seen.details["intent"] == "accept"
    assert seen.details["from"] == PROSPECT
    (dm,) = dms(stack)
    assert dm.startswith(":incoming_envelope: *ACME-1* · john@acme.example replied:\n")
    assert "> The first option works for me." in dm
    assert "Convene reads it as *accept* (high confidence" in dm
    assert "Matches the time you offered: " in dm
    assert "wrote:" not in dm, "quoted history is not the prospect's answer"
    assert dm.endswith("Nothing has been sent to them.")
    assert job.outputs["tell_rep"]["channel"] == f"D{REP_ID}"


def test_reply_with_a_new_subject_is_matched_by_in_reply_to(stack: Stack) -> None:
    original = send_first_email(stack)
    reply = a_reply(
        original,
        "Quick question before we pick a time: will the demo cover the API?",
        subject="Question about the API",
    )
    deliver(stack, reply)
    (stored,) = stack.inbox(REP_EMAIL)
    assert stored.thread_id != the_request(stack).email_thread_id, "a new conversation"

    assert stack.poll_mail() == {"mailboxes": 1, "dispatched": 1}

    job = assert_reply_understood(stack, reply, matched_by="headers")
    assert job.outputs["understand_reply"]["intent"] == "question"
    assert the_request(stack).status == RequestStatus.negotiating
    (dm,) = dms(stack)
    assert "Convene reads it as *question*" in dm


def test_reply_from_a_forwarding_address_joins_the_conversation_once_the_rep_says_so(
    stack: Stack,
) -> None:
    original = send_first_email(stack)
    # A corporate relay rewrites the sender and tags the subject; only References survive.
    reply = a_reply(
        original,
        "The first option works for me.",
        sender=f"John Doe <{FORWARDER}>",
        subject=f"RE: [EXT] {original['Subject']}",
        in_reply_to=False,
    )
    deliver(stack, reply)

    # The relay's address is not on the request: its text is not the prospect's answer yet.
    assert stack.poll_mail() == {"mailboxes": 1, "stranger_replies": 1}
    assert reply_jobs(stack) == []
    (row,) = inbound(stack)
    assert row.status == "held" and row.request_id == the_request(stack).id
    (card,) = [c for c in stack.cards() if "someone else" in c.text]
    assert f"someone else ({FORWARDER}) replied on this thread" in card.text
    assert "> The first option works for me." in card.text

    stack.click("take_stranger_reply", card)
    wait_for(lambda: reply_jobs(stack), "the reply sequence")
    stack.drain()

    assert_reply_understood(stack, reply, matched_by="rep")
    assert len(stack.rows(SchedulingRequest)) == 1, "no second conversation"
    (row,) = inbound(stack)
    assert row.sender == FORWARDER and row.status == "received"
    (dm,) = dms(stack)
    assert f"{FORWARDER} replied:" in dm
    assert stack.rows(SchedulingAction, col(SchedulingAction.action_type) == "stranger_reply_taken")


# --- (d) at-least-once delivery ----------------------------------------------------------------


def test_the_same_message_twice_is_one_row_and_one_job(stack: Stack) -> None:
    original = send_first_email(stack)
    (rep,) = stack.rows(Rep)
    cursor_before = rep.mail_cursor
    reply = a_reply(original, "The first option works for me.")
    deliver(stack, reply)
    deliver(stack, reply)  # the provider keeps one copy per Message-ID
    assert stack.poll_mail() == {"mailboxes": 1, "dispatched": 1}

    # A crash after recording the batch but before saving the cursor: the poll reads it again.
    with stack.deps.uow() as uow:
        uow.session.get_one(Rep, rep.id).mail_cursor = cursor_before
        uow.commit()
    assert stack.poll_mail() == {"mailboxes": 1, "duplicates": 1}

    assert len(inbound(stack)) == 1
    assert len(reply_jobs(stack)) == 1
    assert len(dms(stack)) == 1
    assert len(audit(stack, "reply_received")) == 1


# --- (e) finished requests and strangers -------------------------------------------------------


def cancel_the_request(stack: Stack) -> None:
    outcome = own_requests.cancel(
        stack.deps, org_id=stack.slack.team_id, ref="ACME-1", slack_user_id=REP_ID
    )
    assert outcome.ok, outcome.message


def test_reply_to_the_thread_of_a_cancelled_request_goes_to_the_rep(stack: Stack) -> None:
    original = send_first_email(stack)
    cancel_the_request(stack)
    deliver(stack, a_reply(original, "Sorry for the delay! Does next Tuesday still work?"))

    assert stack.poll_mail() == {"mailboxes": 1, "escalated": 1}

    request = the_request(stack)
    assert request.status == RequestStatus.cancelled
    assert reply_jobs(stack) == []
    (row,) = inbound(stack)
    assert row.request_id == request.id
    (note,) = audit(stack, "reply_on_finished_request")
    assert note.details["matched_by"] == "thread"
    (dm,) = dms(stack)
    assert dm.startswith(
        ":incoming_envelope: john@acme.example replied on *ACME-1*, which is cancelled. "
        "Convene did not reopen it;"
    )
    assert "> Sorry for the delay! Does next Tuesday still work?" in dm


def test_a_known_prospect_writing_afresh_is_never_dropped(stack: Stack) -> None:
    original = send_first_email(stack)
    cancel_the_request(stack)
    fresh = a_reply(
        original,
        "Hi Rita, circling back: can we find 30 minutes in January?",
        subject="Catching up",
        in_reply_to=False,
        references=False,
        quote=False,
    )
    deliver(stack, fresh)

    assert stack.poll_mail() == {"mailboxes": 1, "escalated": 1}

    assert reply_jobs(stack) == []
    (row,) = inbound(stack)
    assert row.request_id is None
    (note,) = audit(stack, "unmatched_mail")
    assert note.details["known_requests"] == ["ACME-1"]
    (dm,) = dms(stack)
    assert "john@acme.example wrote to you (“Catching up”)" in dm
    assert "they are on *ACME-1* (cancelled)" in dm


def test_unrelated_mail_is_ignored_and_not_stored(stack: Stack) -> None:
    original = send_first_email(stack)
    newsletter = a_reply(
        original,
        "This week in sales: ten tips for better demos.",
        sender="Sales Weekly <news@newsletter.example>",
        subject="This week in sales",
        in_reply_to=False,
        references=False,
        quote=False,
    )
    deliver(stack, newsletter)

    assert stack.poll_mail() == {"mailboxes": 1, "ignored": 1}

    assert inbound(stack) == []
    assert dms(stack) == []
    assert the_request(stack).status == RequestStatus.awaiting_response


# --- (f) (g) (h) mail that is not a person's answer --------------------------------------------


def test_out_of_office_pauses_follow_ups_until_the_return_date(stack: Stack) -> None:
    original = send_first_email(stack)
    follow_up_was = the_request(stack).next_action_at
    ooo = a_reply(
        original,
        "Thank you for your email. I am out of the office with limited access to email "
        "and will be back on Monday, December 14. For urgent matters contact sales@acme.example.",
        subject=f"Automatic reply: {original['Subject']}",
        quote=False,
    )
    ooo["Auto-Submitted"] = "auto-replied"
    ooo["X-Auto-Response-Suppress"] = "All"
    deliver(stack, ooo)

    assert stack.poll_mail() == {"mailboxes": 1, "auto_replies": 1}

    request = the_request(stack)
    back = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)  # 9:00 in New York, the request's zone
    assert follow_up_was is not None and follow_up_was < back
    assert request.next_action_at == back
    assert request.next_action_type == "follow_up"
    assert request.status == RequestStatus.awaiting_response
    assert reply_jobs(stack) == []
    (note,) = audit(stack, "auto_reply")
    assert note.details["return_text"] == "Monday, December 14"
    assert note.details["follow_ups_paused_until"] == back.isoformat()
    assert dms(stack) == []


def test_a_persons_away_note_is_read_as_their_reply_and_reaches_the_rep(stack: Stack) -> None:
    """No header or subject marks it as automatic, so it is a person writing: here declining
    for two colleagues. Taking it for an autoresponder's would leave the rep never knowing."""
    original = send_first_email(stack)
    deliver(
        stack,
        a_reply(
            original,
            "I just checked with Jeff and Ken.  They are both out of the office that day.\n"
            "Sorry it didn't work out.",
        ),
    )

    assert stack.poll_mail() == {"mailboxes": 1, "dispatched": 1}

    (job,) = reply_jobs(stack)
    assert job.status == "done"
    (read,) = audit(stack, "reply_received")
    assert read.details["intent"] == "decline"
    assert audit(stack, "auto_reply") == []
    told = [
        json.dumps([m.text, m.blocks]) for m in stack.slack.messages if m.channel == f"D{REP_ID}"
    ]
    assert any("Jeff and Ken" in text for text in told), told


def a_bounce(original: MimeMessage) -> MimeMessage:
    """A Postfix-style DSN: multipart/report with the failed message's headers attached."""
    report = MimeMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.northwind.example>"
    report["To"] = REP_EMAIL
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(datetime(2026, 11, 30, 14, 1, tzinfo=UTC))
    report["Message-ID"] = make_msgid(domain="mx.northwind.example")
    report["Auto-Submitted"] = "auto-replied"
    report.set_content(
        "This is the mail system at host mx.northwind.example.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"<{PROSPECT}>: host mx.acme.example said: 550 5.1.1 User unknown\n"
    )
    report.make_mixed()
    report.replace_header(
        "Content-Type", 'multipart/report; report-type="delivery-status"; boundary="dsn-boundary"'
    )
    status = MimeMessage()
    status.set_type("message/delivery-status")
    status.set_payload(
        [
            message_from_string("Reporting-MTA: dns; mx.northwind.example\n"),
            message_from_string(
                f"Final-Recipient: rfc822; {PROSPECT}\nOriginal-Recipient: rfc822;{PROSPECT}\n"
                "Action: failed\nStatus: 5.1.1\n"
                "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
            ),
        ]
    )
    report.attach(status)
    headers = MimeMessage()
    headers.set_type("text/rfc822-headers")
    headers.set_payload(
        f"From: {REP_EMAIL}\nTo: {PROSPECT}\nSubject: {original['Subject']}\n"
        f"Message-ID: {original['Message-ID']}\n"
    )
    report.attach(headers)
    return report


def test_bounce_tells_the_rep_which_address_failed(stack: Stack) -> None:
    original = send_first_email(stack)
    assert the_request(stack).next_action_type == "follow_up"
    deliver(stack, a_bounce(original))

    assert stack.poll_mail() == {"mailboxes": 1, "bounces": 1}

    assert reply_jobs(stack) == []
    (note,) = audit(stack, "email_bounced")
    assert note.details["failed_recipients"] == [PROSPECT]
    assert note.details["matched_by"] == "bounced_message"
    # Their only address is dead: a follow-up would just bounce again.
    request = the_request(stack)
    assert request.next_action_at is None and request.next_action_type is None
    # Nothing would move it on: it waits for the rep, paused.
    assert request.status == RequestStatus.paused
    assert request.paused_from == RequestStatus.awaiting_response
    (dm,) = dms(stack)
    assert dm == (
        ":warning: *ACME-1* · your email to john@acme.example could not be delivered. "
        "Check the address; Convene has not retried. Follow-ups are stopped and the request "
        "is paused; to reach them at a corrected address, `/schedule cancel ACME-1` and "
        "schedule again with it."
    )


def test_bounce_from_one_of_two_prospects_keeps_following_up(stack: Stack) -> None:
    original = send_first_email(stack)
    request = the_request(stack)
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingAttendee(
                org_id=request.org_id,
                request_id=request.id,
                side="external",
                email="jane@acme.example",
                created_at=stack.clock.now(),
            )
        )
        uow.commit()
    deliver(stack, a_bounce(original))

    assert stack.poll_mail() == {"mailboxes": 1, "bounces": 1}

    # Jane can still answer, so the follow-up stays on the clock.
    assert the_request(stack).next_action_at == request.next_action_at
    assert the_request(stack).next_action_type == "follow_up"
    (dm,) = dms(stack)
    assert "Follow-ups are stopped" not in dm


def an_invite_answer(uid: str, partstat: str) -> MimeMessage:
    """What Outlook sends when the prospect clicks Accept on our invite."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    event.add("dtstart", datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    event.add("sequence", 0)
    attendee = icalendar.vCalAddress(f"mailto:{PROSPECT}")
    attendee.params["PARTSTAT"] = icalendar.vText(partstat)
    attendee.params["CN"] = icalendar.vText("John Doe")
    event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    msg = MimeMessage()
    msg["From"] = f"John Doe <{PROSPECT}>"
    msg["To"] = REP_EMAIL
    msg["Subject"] = "Accepted: Demo with john@acme.example"
    msg["Message-ID"] = make_msgid(domain="mail.acme.example")
    msg.set_content("John Doe has accepted this meeting.")
    msg.add_alternative(
        calendar.to_ical(), maintype="text", subtype="calendar", params={"method": "REPLY"}
    )
    return msg


def test_calendar_reply_updates_the_attendees_invite_status(stack: Stack) -> None:
    send_first_email(stack)
    uid = f"{uuid.uuid4().hex}@convene.local"
    with stack.deps.uow() as uow:
        # Booking is not built yet: stand in for the invite it will have sent.
        uow.session.get_one(SchedulingRequest, the_request(stack).id).calendar_event_id = uid
        uow.commit()
    deliver(stack, an_invite_answer(uid, "ACCEPTED"))

    assert stack.poll_mail() == {"mailboxes": 1, "calendar_replies": 1}

    (prospect,) = stack.rows(SchedulingAttendee, col(SchedulingAttendee.email) == PROSPECT)
    assert prospect.invite_status == "accepted"
    assert reply_jobs(stack) == []
    (note,) = audit(stack, "invite_response")
    assert note.details["matched_by"] == "calendar_uid"
    assert note.details["invite_status"] == "accepted"


# --- untrusted text in Slack -------------------------------------------------------------------


def test_prospect_text_cannot_ping_the_channel_or_plant_links(stack: Stack) -> None:
    original = send_first_email(stack)
    deliver(
        stack,
        a_reply(
            original,
            "<!channel> the first option works. Details: <https://evil.example|your invoice> @here",
        ),
    )

    assert stack.poll_mail() == {"mailboxes": 1, "dispatched": 1}

    (dm,) = dms(stack)
    assert "<!channel>" not in dm and "<https://" not in dm
    assert "&lt;!channel&gt; the first option works." in dm
    assert "&lt;https://evil.example|your invoice&gt;" in dm
    assert "@\u2060here" in dm
