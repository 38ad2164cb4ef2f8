"""Hostile mail never stops a mailbox, what the rep sees of it is clean, and mail belongs to
its mailbox and its people (issue #12, classes 1-3).

The corpus (tests/support/hostile_mail.py) goes through the real intake — `poll_inboxes`, the
database, the worker, the local Slack stand-in — on SQLite and PostgreSQL. Messages reach it
through a provider's inbox: a `MailReader` fake at the port, or the embedded mailbox.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from email.utils import make_msgid

import pytest
import sqlalchemy
from redis import Redis
from sqlmodel import col

from connectors.clock import ManualClock
from connectors.errors import TransientError
from connectors.ports import InboundBatch, InboundRaw
from db.engine import make_engine
from db.models import (
    EmailMessage,
    PendingAction,
    Rep,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
    SlackNotification,
)
from orchestrator.engine.embedded import drain
from orchestrator.inbox.intake import is_outage, poll_inboxes
from skills.clean_text import clean_line, clean_text
from skills.read_email import parse_email
from tests.support.hostile_mail import FORBIDDEN, hostile_corpus, plain_message
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, Stack, wait_for
from tests.test_mail_intake import PROSPECT, a_reply, send_first_email

OTTO_EMAIL = "otto@northwind.example"
UNREADABLE = ":warning: Convene could not fully read an email"


@pytest.fixture
def roomy_stack(backend: tuple[str, Redis], clock: ManualClock) -> Iterator[Stack]:
    """The stack with no hourly DM cap in the way: every notice is posted as it happens."""
    url, redis = backend
    with Stack.start(database_url=url, redis=redis, clock=clock, dm_per_hour_cap=1000) as running:
        yield running


class ListReader:
    """A provider's inbox at the port: a fixed list of messages, the cursor an index into it
    (anything else, like another provider's cursor, reads from the start)."""

    def __init__(self, messages: Sequence[InboundRaw]) -> None:
        self.messages = list(messages)

    def fetch_new(self, cursor: str | None) -> InboundBatch:
        start = int(cursor[5:]) if cursor and cursor.startswith("list:") else 0
        return InboundBatch(self.messages[start:], cursor=f"list:{len(self.messages)}")


def poll(stack: Stack, reader: ListReader) -> dict[str, int]:
    counts = poll_inboxes(stack.deps, reader_for=lambda rep: reader)
    drain(stack.deps)
    return counts


def inbound(stack: Stack) -> list[EmailMessage]:
    return stack.rows(EmailMessage, col(EmailMessage.direction) == "inbound")


def dms_to(stack: Stack, slack_id: str) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == f"D{slack_id}"]


def reply_jobs(stack: Stack) -> list[SequenceJob]:
    return stack.rows(SequenceJob, col(SequenceJob.event_type) == "email_received")


def rewind(stack: Stack, cursor: str | None) -> None:
    """A crash after recording the batch, before saving the cursor: it is read again."""
    with stack.deps.uow() as uow:
        for rep in uow.session.exec(sqlalchemy.select(Rep)).scalars():
            rep.mail_cursor = cursor
            uow.session.add(rep)
        uow.commit()


def assert_clean(text: str, what: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in FORBIDDEN})
    assert not found, f"{what} carries {found}: {text[:200]!r}"


# --- class 1: one bad message never stops a mailbox ---------------------------------------------


def test_the_hostile_corpus_is_read_or_recorded_and_the_mailbox_moves_on(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    (request,) = stack.rows(SchedulingRequest)
    corpus = hostile_corpus(sender=PROSPECT, to=REP_EMAIL, ours=original["Message-ID"])
    good = a_reply(original, "The first option works for me.")
    reader = ListReader(
        [InboundRaw(m.provider_id, f"thread-{m.provider_id}", m.raw) for m in corpus]
        + [InboundRaw("p-good", str(request.email_thread_id), bytes(good))]
    )
    (rep,) = stack.rows(Rep)
    cursor_before = rep.mail_cursor
    dms_before = len(dms_to(stack, REP_ID))

    counts = poll(stack, reader)

    unreadable = [m for m in corpus if m.expect == "unreadable"]
    read = [m for m in corpus if m.expect == "read"]
    assert "failed_mailboxes" not in counts, counts
    assert counts["unreadable"] == len(unreadable)
    assert counts["escalated"] == len(read), "every readable one reached the rep as mail"
    assert counts["duplicates"] == 1
    assert counts["dispatched"] == 1, "the good reply after them was understood"
    (rep,) = stack.rows(Rep)
    assert rep.mail_cursor == f"list:{len(reader.messages)}", "the cursor moved past them all"

    rows = {r.provider_message_id: r for r in inbound(stack)}
    assert set(rows) == {m.provider_id for m in corpus if m.expect != "duplicate"} | {"p-good"}
    for mail in corpus:
        if mail.expect != "duplicate":
            expected = "unreadable" if mail.expect == "unreadable" else "received"
            assert rows[mail.provider_id].status == expected, mail.name
    for row in rows.values():
        for value in (row.sender, row.subject, row.body_text, row.message_id):
            assert_clean(value, f"row {row.provider_message_id}")
    assert "Tuesday works." in rows["p-nul-body"].body_text
    assert rows["p-nul-from"].sender == PROSPECT
    assert "The contract is attached" in rows["p-big"].body_text
    assert rows["p-no-id"].message_id.endswith("@inbound.invalid>")
    assert rows["p-long-id"].message_id.endswith("@inbound.invalid>")
    (job,) = reply_jobs(stack)
    assert job.trigger_payload["email_message_id"] == str(rows["p-good"].id)

    # Message-IDs: ours stays ours; a reused one is kept under a placeholder, not dropped.
    (outbound,) = stack.rows(EmailMessage, col(EmailMessage.direction) == "outbound")
    assert outbound.message_id == original["Message-ID"]
    assert rows["p-ours"].message_id != original["Message-ID"]
    assert rows["p-reused-1"].message_id == "<reused-1@mail.acme.example>"
    assert rows["p-reused-2"].message_id.startswith("<reused.")
    claimed = {
        a.details.get("email_message_id"): a.details.get("claimed_message_id")
        for a in stack.rows(SchedulingAction)
    }
    assert claimed[str(rows["p-ours"].id)] == original["Message-ID"]
    assert claimed[str(rows["p-reused-2"].id)] == "<reused-1@mail.acme.example>"

    dms = dms_to(stack, REP_ID)[dms_before:]
    for dm in dms:
        assert_clean(dm, "a DM")
    warnings = [d for d in dms if d.startswith(UNREADABLE)]
    assert len(warnings) == len(unreadable)
    for subject in ("Deep MIME", "Many parts", "Long subject spam"):
        assert len([w for w in warnings if subject in w]) == 1, subject

    # Read again (a crash before the cursor was saved): nothing new, nobody told twice.
    rewind(stack, cursor_before)
    again = poll(stack, reader)
    assert again == {"mailboxes": 1, "duplicates": len(reader.messages)}
    assert len(inbound(stack)) == len(rows)
    assert dms_to(stack, REP_ID)[dms_before:] == dms
    assert len(reply_jobs(stack)) == 1


def test_the_embedded_mailbox_takes_hostile_mail_and_hands_it_back_unchanged(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    corpus = [
        m
        for m in hostile_corpus(sender=PROSPECT, to=REP_EMAIL, ours=original["Message-ID"])
        if m.expect != "duplicate" and m.provider_id not in ("p-big", "p-many")
    ]
    for mail in corpus:
        stack.deliver(mail.raw)

    counts = stack.poll_mail()

    assert "failed_mailboxes" not in counts, counts
    delivered = stack.inbox(REP_EMAIL)
    # The mailbox keeps one copy per Message-ID, like Gmail: the reused one collapses.
    assert len(delivered) == len(corpus) - 1
    assert sum(counts.get(k, 0) for k in ("escalated", "unreadable")) == len(delivered)
    (nul,) = [r for r in inbound(stack) if r.subject == "Nul body"]
    assert nul.body_text.startswith("Hello Rita, Tuesday works.")


def test_a_message_that_fails_mid_transaction_is_recorded_apart_and_told_once(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    (request,) = stack.rows(SchedulingRequest)
    with stack.deps.uow() as uow:
        # A zone the database kept but no zone database knows: the out-of-office handler fails
        # on it after the message's row was inserted, in the same transaction.
        for attendee in uow.session.exec(sqlalchemy.select(SchedulingAttendee)).scalars():
            attendee.timezone = "Nowhere/Atlantis"
            uow.session.add(attendee)
        uow.commit()
    ooo = a_reply(original, "I am out of the office and back on Monday, December 14.", quote=False)
    ooo["Auto-Submitted"] = "auto-replied"
    good = plain_message(
        sender=f"John Doe <{PROSPECT}>",
        to=REP_EMAIL,
        subject="Another thought",
        body="Also: can we include our CTO?",
        message_id=make_msgid(domain="mail.acme.example"),
    )
    thread = str(request.email_thread_id)
    reader = ListReader([InboundRaw("p-ooo", thread, bytes(ooo)), InboundRaw("p-next", "t2", good)])
    (rep,) = stack.rows(Rep)
    cursor_before = rep.mail_cursor
    dms_before = len(dms_to(stack, REP_ID))

    counts = poll(stack, reader)

    assert counts == {"mailboxes": 1, "unreadable": 1, "escalated": 1}
    (rep,) = stack.rows(Rep)
    assert rep.mail_cursor == "list:2"
    rows = {r.provider_message_id: r for r in inbound(stack)}
    assert rows["p-ooo"].status == "unreadable"
    assert rows["p-ooo"].sender == PROSPECT, "what could be read is kept"
    assert rows["p-next"].status == "received"
    (note,) = stack.rows(SchedulingAction, col(SchedulingAction.action_type) == "unreadable_mail")
    assert note.details["email_message_id"] == str(rows["p-ooo"].id)
    warnings = [d for d in dms_to(stack, REP_ID)[dms_before:] if d.startswith(UNREADABLE)]
    assert len(warnings) == 1 and PROSPECT in warnings[0]

    rewind(stack, cursor_before)
    assert poll(stack, reader) == {"mailboxes": 1, "duplicates": 2}
    warnings = [d for d in dms_to(stack, REP_ID)[dms_before:] if d.startswith(UNREADABLE)]
    assert len(warnings) == 1, "told once, not every tick"
    assert (
        len(stack.rows(SlackNotification, col(SlackNotification.text).contains("fully read"))) == 1
    )


def test_an_outage_is_not_a_bad_message(pg_url: str) -> None:
    """The database refusing a value is this message's failure; the database being away, or
    a provider's transient error, is the mailbox's (retried next tick)."""
    engine = make_engine(pg_url)
    with engine.connect() as connection:
        with pytest.raises(sqlalchemy.exc.SQLAlchemyError) as nul:
            connection.execute(sqlalchemy.text("SELECT :v"), {"v": "a\x00b"})
        assert not is_outage(nul.value)
        connection.rollback()
        connection.execute(sqlalchemy.text("CREATE TEMP TABLE ids (v text UNIQUE)"))
        with pytest.raises(sqlalchemy.exc.SQLAlchemyError) as too_big:
            connection.execute(
                sqlalchemy.text(
                    "INSERT INTO ids SELECT string_agg(md5(g::text), '') "
                    "FROM generate_series(1, 400) g"
                )
            )
        assert not is_outage(too_big.value), "an index row too large is the message's fault"
    engine.dispose()
    away = make_engine("postgresql+psycopg://convene@127.0.0.1:1/none")
    with pytest.raises(sqlalchemy.exc.SQLAlchemyError) as down:
        away.connect()
    assert is_outage(down.value)
    assert is_outage(TransientError("provider said 503"))
    assert not is_outage(ValueError("a parser gave up"))


def test_a_provider_outage_keeps_the_cursor_and_the_other_mailboxes_run(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    send_first_email(stack)
    otto = add_otto(stack)

    class Down:
        def fetch_new(self, cursor: str | None) -> InboundBatch:
            raise TransientError("503 from the provider")

    note = plain_message(
        sender=f"John Doe <{PROSPECT}>",
        to=OTTO_EMAIL,
        subject="Hello Otto",
        body="A note.",
        message_id=make_msgid(domain="mail.acme.example"),
    )
    working = ListReader([InboundRaw("o-1", "t", note)])
    (rita,) = stack.rows(Rep, col(Rep.id) != otto.id)
    before = rita.mail_cursor

    counts = poll_inboxes(
        stack.deps, reader_for=lambda rep: working if rep.id == otto.id else Down()
    )

    assert counts["failed_mailboxes"] == 1 and counts["mailboxes"] == 1
    (rita,) = stack.rows(Rep, col(Rep.id) != otto.id)
    assert rita.mail_cursor == before
    assert stack.rows(Rep, col(Rep.id) == otto.id)[0].mail_cursor == "list:1"
    assert [r.provider_message_id for r in inbound(stack)] == []  # not John's prospect for Otto


# --- class 2: text shown in Slack is clean -------------------------------------------------------


def test_parsing_strips_control_bidi_and_invisible_characters_from_every_field() -> None:
    (mail,) = [
        m
        for m in hostile_corpus(sender=PROSPECT, to=REP_EMAIL, ours="<x@y>")
        if m.provider_id == "p-bidi"
    ]
    email = parse_email(mail.raw)
    assert email.subject == "Invoice fdp.exe"
    assert email.sender_name == "John"
    assert email.text == "Pay now [31mred[0m\n  done\n"
    big = next(
        m
        for m in hostile_corpus(sender=PROSPECT, to=REP_EMAIL, ours="<x@y>")
        if m.provider_id == "p-big"
    )
    assert parse_email(big.raw).attachments == ("contractfdp.exe",)
    assert clean_text("a\x00b\u202ec\u200bd\ufeff\r\ne\tf\udce9") == "abcd\ne\tf\ufffd"
    assert clean_line("  two\n  lines\u2028here ") == "two lines here"


# --- class 3: mail belongs to its mailbox and its people ----------------------------------------


def add_otto(stack: Stack) -> Rep:
    (rita,) = stack.rows(Rep)
    otto = Rep(
        org_id=rita.org_id,
        slack_user_id=OTHER_ID,
        email=OTTO_EMAIL,
        name="Otto Weber",
        timezone="Europe/Berlin",
        created_at=stack.clock.now(),
    )
    with stack.deps.uow() as uow:
        uow.session.add(otto)
        uow.commit()
        uow.session.refresh(otto)
    return otto


def test_a_reply_in_another_reps_mailbox_never_reaches_this_reps_request(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    add_otto(stack)
    stack.poll_mail()  # Otto's mailbox cursor starts now
    rita_dms = len(dms_to(stack, REP_ID))
    # John writes to Otto on Rita's thread: In-Reply-To and References name Rita's email.
    confidential = a_reply(original, "Confidential for Otto: our budget is 2M.", quote=False)
    del confidential["To"]
    confidential["To"] = OTTO_EMAIL
    stack.deliver(bytes(confidential), to=OTTO_EMAIL)

    counts = stack.poll_mail()

    assert counts.get("dispatched", 0) == 0
    assert reply_jobs(stack) == []
    assert dms_to(stack, REP_ID)[rita_dms:] == [], "Rita hears nothing of Otto's mail"
    (row,) = inbound(stack)
    assert row.request_id is None
    assert not any("ACME-1" in dm for dm in dms_to(stack, OTHER_ID))
    assert stack.rows(PendingAction, col(PendingAction.action_type) != "email_initial") == []


def test_a_copy_in_another_mailbox_read_first_does_not_swallow_this_reps_reply(
    roomy_stack: Stack,
) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    otto = add_otto(stack)
    stack.poll_mail()  # Otto's mailbox cursor starts now
    # John answers Rita and copies Otto; Otto's mailbox happens to be read first.
    reply = a_reply(original, "The first option works for me.")
    reply["Cc"] = OTTO_EMAIL
    stack.deliver(bytes(reply), to=OTTO_EMAIL)
    stack.deliver(bytes(reply))
    only_otto = poll_inboxes(
        stack.deps, reader_for=lambda rep: stack.deps.reader_for(rep) if rep.id == otto.id else None
    )
    assert only_otto == {"mailboxes": 1, "escalated": 1}
    assert reply_jobs(stack) == []

    counts = stack.poll_mail()

    assert counts["dispatched"] == 1
    (job,) = reply_jobs(stack)
    (request,) = stack.rows(SchedulingRequest)
    assert job.request_id == request.id
    rows = inbound(stack)
    assert len(rows) == 2
    assert {r.request_id for r in rows} == {None, request.id}


def test_a_calendar_answer_in_another_mailbox_does_not_touch_this_reps_request(
    roomy_stack: Stack,
) -> None:
    from tests.test_mail_intake import an_invite_answer

    stack = roomy_stack
    send_first_email(stack)
    otto = add_otto(stack)
    (request,) = stack.rows(SchedulingRequest)
    uid = "booked-uid@convene.local"
    with stack.deps.uow() as uow:
        uow.session.get_one(SchedulingRequest, request.id).calendar_event_id = uid
        uow.commit()
    answer = an_invite_answer(uid, "DECLINED")
    reader = ListReader([InboundRaw("c-1", "t", bytes(answer))])

    poll_inboxes(stack.deps, reader_for=lambda rep: reader if rep.id == otto.id else None)

    (prospect,) = stack.rows(SchedulingAttendee, col(SchedulingAttendee.email) == PROSPECT)
    assert prospect.invite_status == "needs_action"
    assert (
        stack.rows(SchedulingAction, col(SchedulingAction.action_type) == "invite_response") == []
    )


def test_a_stranger_replying_on_the_thread_gets_a_card_not_a_draft(roomy_stack: Stack) -> None:
    stack = roomy_stack
    original = send_first_email(stack)
    stranger = "eve@evil.example"
    reply = a_reply(
        original, "Book it for Friday and send the invite to me.", sender=f"Eve <{stranger}>"
    )
    stack.deliver(bytes(reply))
    (rep,) = stack.rows(Rep)
    cursor_before = rep.mail_cursor

    assert stack.poll_mail() == {"mailboxes": 1, "stranger_replies": 1}

    assert reply_jobs(stack) == []
    assert stack.rows(SchedulingAction, col(SchedulingAction.action_type) == "reply_received") == []
    (row,) = inbound(stack)
    assert row.status == "held" and row.sender == stranger
    (card,) = [c for c in stack.cards() if "someone else" in c.text]
    assert f"someone else ({stranger}) replied on this thread" in card.text
    assert "> Book it for Friday and send the invite to me." in card.text
    assert stack.button_value(card, "take_stranger_reply") == str(row.id)
    drafted = stack.rows(PendingAction, col(PendingAction.action_type) != "email_initial")
    assert drafted == []
    # Another rep cannot hand it on; reading the mailbox again posts no second card.
    stack.click("take_stranger_reply", card, user=OTHER_ID)
    refusal = wait_for(
        lambda: [r for r in stack.slack.responses if "belongs to" in r["text"]], "the refusal"
    )
    assert f"<@{REP_ID}>" in refusal[-1]["text"]
    assert reply_jobs(stack) == []
    rewind(stack, cursor_before)
    assert stack.poll_mail() == {"mailboxes": 1, "duplicates": 1}
    assert len([c for c in stack.cards() if "someone else" in c.text]) == 1

    # The rep chooses to hand it on: once, and whatever is drafted is not addressed to Eve.
    stack.click("take_stranger_reply", card)
    wait_for(lambda: reply_jobs(stack), "the reply sequence")
    stack.drain()
    stack.click("take_stranger_reply", card)
    wait_for(
        lambda: [r for r in stack.slack.responses if r["text"].startswith("Already done")],
        "the second click refused",
    )
    assert len(reply_jobs(stack)) == 1
    for draft in stack.rows(PendingAction, col(PendingAction.action_type) != "email_initial"):
        assert stranger not in str(draft.effective_data()), draft.action_type
    assert stack.inbox(stranger) == []
