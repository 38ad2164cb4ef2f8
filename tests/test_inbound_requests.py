"""New mail asking the rep to meet, end to end: the email lands in the rep's embedded mailbox,
the clock's poll reads it, the card reaches Slack, Offer starts a request whose first email
answers theirs in its thread, and only Approve sends it. Runs on SQLite + fakeredis and
PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from typing import Any

import pytest
from redis import Redis
from sqlmodel import col

from bot.local_slack import Message
from connectors.clock import ManualClock
from db.models import (
    EmailMessage,
    InboundRequest,
    PendingAction,
    Rep,
    SchedulingAction,
    SchedulingRequest,
    SchedulingTemplate,
)
from orchestrator.commands.new_request import ensure_rep
from orchestrator.views import RepProfile
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, Stack, wait_for

ASKER = "dana.reyes@brightpath.example"
ASK_ID = "<ask-1@mail.brightpath.example>"


def a_rep_reading_mail(stack: Stack) -> None:
    """A rep with no request yet, whose mailbox the clock has started reading."""
    with stack.deps.uow() as uow:
        ensure_rep(
            uow.session,
            org_id=stack.slack.team_id,
            profile=RepProfile(REP_ID, REP_EMAIL, "Rita Moreno", "America/New_York"),
            now=stack.clock.now(),
            daily_send_limit=50,
        )
        uow.commit()
    assert stack.poll_mail() == {"mailboxes": 1}


def an_email(
    text: str,
    *,
    sender: str = f"Dana Reyes <{ASKER}>",
    subject: str = "Demo for our SDR team",
    message_id: str = ASK_ID,
    **headers: str,
) -> bytes:
    msg = MimeMessage()
    msg["From"] = sender
    msg["To"] = f"Rita Moreno <{REP_EMAIL}>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 16, 5, tzinfo=UTC))
    msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return bytes(msg)


ASK = (
    "Hi Rita,\n\nWe're looking at scheduling tools for our SDR team. Could we get a demo next "
    "week? If it's easier, my colleague mallory@evil.example can set it up.\n\nThanks,\nDana"
)


def ask_cards(stack: Stack) -> list[Message]:
    """The ask cards as they stand now (a choice redraws a card in place)."""
    return [c for c in stack.cards() if "asks for a" in c.text]


def ask_cards_posted(stack: Stack) -> int:
    calls = stack.slack.calls_to("chat.postMessage")
    return sum("asks for a" in str(c["args"].get("text", "")) for c in calls)


def pending(stack: Stack) -> list[PendingAction]:
    return stack.rows(PendingAction, col(PendingAction.status) == "pending")


def test_an_emailed_ask_becomes_a_card_then_one_threaded_email_after_approve(
    stack: Stack,
) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))

    assert stack.poll_mail() == {"mailboxes": 1, "inbound_requests": 1}

    (card,) = ask_cards(stack)
    assert card.channel == f"D{REP_ID}"
    assert "*Dana Reyes (Brightpath)* asks for a demo — offer these times?" in card.text
    assert "Could we get a demo next week?" in card.text
    assert "Free on your calendar:\n• " in card.text
    buttons = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["offer_inbound_request", "edit_inbound_request", "ignore_inbound_request"]
    assert stack.rows(SchedulingRequest) == [], "nothing exists until the rep chooses"

    stack.click("offer_inbound_request", card)
    wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    stack.drain()

    (request,) = stack.rows(SchedulingRequest)
    (draft,) = pending(stack)
    data = draft.action_data
    assert draft.action_type == "email_initial"
    assert data["to"] == [ASKER], "the From address, never one from the text"
    assert data["in_reply_to"] == ASK_ID
    assert data["references"] == [ASK_ID]
    assert data["subject"] == "Re: Demo for our SDR team"
    (inbound,) = stack.rows(InboundRequest)
    assert (inbound.status, inbound.request_id, inbound.decided_by) == (
        "offered",
        request.id,
        REP_ID,
    )
    assert stack.inbox(ASKER) == [], "nothing is sent before Approve"

    approval = wait_for(
        lambda: [c for c in stack.cards() if "approve_action" in str(c.blocks)], "the approval card"
    )[0]
    stack.click("approve_action", approval)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approval")
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()

    (sent,) = stack.inbox(ASKER)
    message = message_from_string(sent.raw, policy=policy.default)
    assert message["In-Reply-To"] == ASK_ID
    assert ASK_ID in message["References"]
    assert message["Subject"] == "Re: Demo for our SDR team"
    assert stack.inbox("mallory@evil.example") == []
    # A second read of the mailbox, and the clock going on, make no second card or send.
    stack.poll_mail()
    stack.tick()
    assert len(stack.inbox(ASKER)) == 1
    assert ask_cards_posted(stack) == 1


def test_a_newsletter_asking_the_same_makes_no_card_and_is_not_stored(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(
        an_email(
            ASK,
            sender="SaaS Weekly <news@saasweekly.example>",
            List_Unsubscribe="<https://saasweekly.example/u>",
        )
    )

    assert stack.poll_mail() == {"mailboxes": 1, "ignored": 1}

    assert ask_cards(stack) == []
    assert stack.rows(InboundRequest) == []
    assert stack.rows(EmailMessage) == []


def test_the_same_email_read_twice_is_carded_once(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    stack.deliver(an_email(ASK))  # the provider keeps one copy per Message-ID
    assert stack.poll_mail() == {"mailboxes": 1, "inbound_requests": 1}
    # The cursor saved, then lost: the next poll reads the same message again.
    with stack.deps.uow() as uow:
        uow.session.get_one(Rep, stack.rows(Rep)[0].id).mail_cursor = None
        uow.commit()
    stack.poll_mail()
    stack.poll_mail()

    assert ask_cards_posted(stack) == 1
    assert len(stack.rows(InboundRequest)) == 1


def test_ignore_records_the_choice_and_leaves_nothing_pending(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    stack.poll_mail()
    (card,) = ask_cards(stack)

    stack.click("ignore_inbound_request", card)
    wait_for(lambda: stack.rows(InboundRequest, col(InboundRequest.status) == "ignored"), "ignored")
    stack.drain()
    # Offer on the same card afterwards starts nothing.
    stack.click("offer_inbound_request", card)
    stack.drain()

    assert pending(stack) == []
    assert stack.rows(SchedulingRequest) == []
    (inbound,) = stack.rows(InboundRequest)
    assert inbound.decided_by == REP_ID
    assert stack.rows(
        SchedulingAction, col(SchedulingAction.action_type) == "inbound_request_ignored"
    )
    stack.tick()
    assert stack.inbox(ASKER) == []


class SlackDown:
    """The chat port with Slack refusing every post (the rest of the port still works)."""

    def __init__(self, chat: object) -> None:
        self._chat = chat

    def post_message(self, **kwargs: object) -> object:
        raise ConnectionError("Slack is down")

    def __getattr__(self, name: str) -> object:
        return getattr(self._chat, name)


def test_a_card_lost_before_it_was_posted_is_posted_by_the_next_read(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    real_chat = stack.deps.chat
    stack.deps.chat = SlackDown(real_chat)  # type: ignore[assignment]
    try:
        assert stack.poll_mail() == {"mailboxes": 1, "inbound_requests": 1}
    finally:
        stack.deps.chat = real_chat
    assert ask_cards(stack) == []

    stack.poll_mail()
    stack.poll_mail()
    assert len(ask_cards(stack)) == 1
    assert ask_cards_posted(stack) == 1


# --- which mailboxes the clock reads -----------------------------------------------------------


@pytest.fixture
def active_mailboxes_only(backend: tuple[str, Redis], clock: ManualClock) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(database_url=url, redis=redis, clock=clock, idle_mailbox_minutes=0) as s:
        yield s


def test_a_rep_with_nothing_open_gets_the_card_within_one_idle_round(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    interval = timedelta(seconds=stack.deps.settings.clock_interval_seconds)
    ticks = round(timedelta(minutes=stack.deps.settings.idle_mailbox_minutes) / interval)

    for _ in range(ticks):  # the clock queues this mailbox's read in its slot of the round
        stack.tick()
        stack.clock.advance(interval)

    assert len(ask_cards(stack)) == 1


def test_with_idle_reads_off_only_mailboxes_with_a_request_are_read(
    active_mailboxes_only: Stack,
) -> None:
    stack = active_mailboxes_only
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))

    for _ in range(20):
        stack.tick()
        stack.clock.advance(timedelta(seconds=30))

    assert ask_cards(stack) == []
    assert stack.rows(InboundRequest) == []


# --- Edit, and who may choose ----------------------------------------------------------------


def form_values(guests: str) -> dict[str, Any]:
    return {
        "meeting_type": {"meeting_type": {"selected_option": {"value": "discovery call"}}},
        "duration": {"duration": {"selected_option": None}},
        "teammates": {"teammates": {"selected_users": []}},
        "guests": {"guests": {"value": guests}},
        "window_start": {"window_start": {"selected_date": "2026-12-01"}},
        "window_end": {"window_end": {"selected_date": "2026-12-04"}},
        "preferred": {"preferred": {"selected_options": []}},
        "avoid": {"avoid": {"selected_options": []}},
        "platform": {"platform": {"selected_option": {"value": "teams"}}},
        "context": {"context": {"value": "They asked about the SDR team."}},
    }


def test_edit_opens_the_form_with_the_sender_and_its_submit_answers_in_their_thread(
    stack: Stack,
) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    stack.poll_mail()
    (card,) = ask_cards(stack)

    stack.click("edit_inbound_request", card)
    view = wait_for(lambda: stack.slack.modals, "the form")[0]
    (inbound,) = stack.rows(InboundRequest)
    assert view["callback_id"] == "inbound_request_form"
    assert view["private_metadata"] == str(inbound.id)
    guests = next(b for b in view["blocks"] if b["block_id"] == "guests")
    assert ASKER in guests["element"]["initial_value"]
    assert stack.rows(SchedulingRequest) == [], "opening the form starts nothing"

    reply = stack.submit(view, form_values(ASKER))
    assert reply.status == 200
    wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    stack.drain()

    (request,) = stack.rows(SchedulingRequest)
    assert request.meeting_type == "discovery call"
    (draft,) = pending(stack)
    assert draft.action_data["to"] == [ASKER]
    assert draft.action_data["in_reply_to"] == ASK_ID
    (inbound,) = stack.rows(InboundRequest)
    assert (inbound.status, inbound.request_id) == ("offered", request.id)


def test_only_the_rep_or_their_delegates_may_offer(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    stack.poll_mail()
    (card,) = ask_cards(stack)

    stack.click("offer_inbound_request", card, user=OTHER_ID)
    stack.click("ignore_inbound_request", card, user=OTHER_ID)
    stack.drain()

    assert stack.rows(SchedulingRequest) == []
    (inbound,) = stack.rows(InboundRequest)
    assert inbound.status == "carded"


def test_the_senders_name_and_words_cannot_ping_the_channel_or_plant_links(stack: Stack) -> None:
    a_rep_reading_mail(stack)
    stack.deliver(
        an_email(
            "<!channel> Could we get a demo next week? Details: <https://evil.example|invoice>",
            sender=f'"<!here> Dana <https://evil.example|CEO>" <{ASKER}>',
        )
    )
    stack.poll_mail()

    (card,) = ask_cards(stack)
    assert "<!channel>" not in card.text and "<!here>" not in card.text
    assert "<https://" not in card.text
    assert "&lt;!channel&gt; Could we get a demo next week?" in card.text


def test_offer_books_the_teams_own_type_of_that_name_its_length_and_place(stack: Stack) -> None:
    """The team's demo is an hour, in person: Offer's free times and the request it starts are
    an hour there too, not the built-in 30 minutes on a video call."""
    with stack.deps.uow() as uow:
        uow.session.add(
            SchedulingTemplate(
                org_id=stack.slack.team_id,
                meeting_type="demo",
                duration_minutes=60,
                platform="in_person",
                location="Northwind HQ, 5th floor",
                created_at=stack.clock.now(),
                updated_at=stack.clock.now(),
            )
        )
        uow.commit()
    a_rep_reading_mail(stack)
    stack.deliver(an_email(ASK))
    stack.poll_mail()
    (card,) = ask_cards(stack)
    stack.click("offer_inbound_request", card)
    wait_for(lambda: stack.rows(SchedulingRequest), "the request")
    stack.drain()
    (request,) = stack.rows(SchedulingRequest)
    assert (request.meeting_type, request.duration_minutes) == ("demo", 60)
    assert (request.platform, request.location) == ("in_person", "Northwind HQ, 5th floor")
