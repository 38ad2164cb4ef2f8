"""Replies that need more than a booking: decisions for the rep (seed 003) and the drafts for
questions, hand-offs and absences. Each runs the real flow on both backends: the first email
approved and sent, the prospect's reply in the rep's mailbox, the clock polling, and the rep
answering cards with signed clicks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col

from bot.local_slack import Message
from db.models import (
    ActionStatus,
    ActionType,
    PendingAction,
    RequestStatus,
    SchedulingAction,
    SchedulingAttendee,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.outbox import FILL_IN_FIRST
from tests.support.stack import OTHER_ID, REP_ID, Stack, wait_for
from tests.test_mail_intake import PROSPECT, a_reply, deliver, send_first_email
from tests.test_negotiation import _approve_latest, _last_mail_to, _text


def _decision_card(stack: Stack, button: str) -> Message:
    found = wait_for(lambda: [c for c in stack.cards() if _has(c, button)], f"a card with {button}")
    return found[-1]


def _has(card: Message, action_id: str) -> bool:
    return any(e.get("action_id") == action_id for b in card.blocks for e in b.get("elements", []))


def _request(stack: Stack) -> SchedulingRequest:
    (request,) = stack.rows(SchedulingRequest)
    return request


def _audit(stack: Stack, kind: str) -> list[SchedulingAction]:
    return stack.rows(SchedulingAction, col(SchedulingAction.action_type) == kind)


def _ephemerals(stack: Stack) -> list[str]:
    return [str(r.get("text")) for r in stack.slack.responses if r.get("response_type")]


def _choose(stack: Stack, button: str, card: Message) -> None:
    """Click a choice that drafts something, then let the worker run the decision's job."""
    before = len(stack.rows(SequenceJob, col(SequenceJob.event_type) == "decision_made"))
    stack.click(button, card)
    wait_for(
        lambda: (
            len(stack.rows(SequenceJob, col(SequenceJob.event_type) == "decision_made")) > before
        ),
        "the decision's job",
    )
    stack.drain()


def _reply(stack: Stack, text: str, **kwargs: object) -> None:
    first = send_first_email(stack)
    deliver(stack, a_reply(first, text, **kwargs))  # type: ignore[arg-type]
    stack.poll_mail()
    stack.tick()


def test_a_decline_asks_the_rep_and_cancel_closes_it_once(stack: Stack) -> None:
    _reply(stack, "Thanks, but we're not interested. Please take us off your list.")
    card = _decision_card(stack, "decision_cancel_request")
    text = " ".join(str(b) for b in card.blocks)
    assert "recommends closing" in text and "declined the meeting" in text
    request = _request(stack)
    assert request.event_next_action == "waiting_for_decision"
    assert request.event_next_action_subtype == "recommend_cancel"
    (john,) = [a for a in stack.rows(SchedulingAttendee) if a.email == PROSPECT]
    assert (john.score, john.next_action) == (0, "close:declined")
    assert {a.action_type for a in stack.rows(PendingAction)} == {ActionType.email_initial}

    stack.click("decision_cancel_request", card, user=OTHER_ID)
    wait_for(lambda: [t for t in _ephemerals(stack) if "belongs to" in t], "the refusal")
    assert _request(stack).status != RequestStatus.cancelled

    stack.click("decision_cancel_request", card)
    wait_for(lambda: _request(stack).status == RequestStatus.cancelled, "the cancellation")
    updated = wait_for(
        lambda: [m for m in stack.slack.messages if m.ts == card.ts and m.history], "card update"
    )[0]
    assert not any(b["type"] == "actions" for b in updated.blocks)
    assert "Cancel the request" in updated.text
    (made,) = _audit(stack, "decision_made")
    assert made.details["choice"] == "cancel_request" and made.actor == "user"

    stack.click("decision_cancel_request", card)
    wait_for(lambda: [t for t in _ephemerals(stack) if "Already decided" in t], "already")
    assert len(_audit(stack, "decision_made")) == 1


def test_keep_it_open_after_a_decline_keeps_following_up(stack: Stack) -> None:
    _reply(stack, "We are not interested at this time, thanks.")
    card = _decision_card(stack, "decision_keep_open")
    before = _request(stack)
    stack.click("decision_keep_open", card)
    wait_for(
        lambda: _request(stack).event_next_action_subtype == "collecting_responses", "kept open"
    )
    after = _request(stack)
    assert after.status == before.status and after.next_action_type == "follow_up"


def test_a_question_gets_an_answer_draft_that_cannot_go_out_unfilled(stack: Stack) -> None:
    _reply(stack, "Before we book: does your platform integrate with Salesforce?")
    card = wait_for(
        lambda: [
            c
            for c in stack.cards()
            if _has(c, "approve_action")
            and "Salesforce" not in str(c.blocks)
            and "[[ANSWER]]" in str(c.blocks)
        ],
        "the answer draft",
    )[0]
    (draft,) = stack.rows(
        PendingAction, col(PendingAction.action_type) == ActionType.email_response
    )
    assert "[[ANSWER]]" in draft.action_data["body"]
    assert draft.action_data["to"] == [PROSPECT]

    stack.click("approve_action", card)
    wait_for(lambda: [t for t in _ephemerals(stack) if t == FILL_IN_FIRST], "the refusal")
    (still,) = stack.rows(PendingAction, col(PendingAction.id) == draft.id)
    assert still.status == ActionStatus.pending

    body = draft.action_data["body"].replace("[[ANSWER]]", "Yes: a native two-way sync.")
    from orchestrator.outbox import decide

    assert decide(
        stack.deps, action_id=draft.id, decision="edit", slack_user_id=REP_ID, edits={"body": body}
    ).ok
    sent = _approve_latest(stack, ActionType.email_response)
    assert sent.status == ActionStatus.executed
    mail = _last_mail_to(stack, PROSPECT)
    assert "native two-way sync" in _text(mail) and mail["Subject"].startswith("Re: ")
    assert _audit(stack, "answer_sent")
    assert _request(stack).next_action_type == "follow_up"


def test_a_hand_off_adds_the_delegate_and_drafts_to_them(stack: Stack) -> None:
    _reply(
        stack,
        "I'm not the right person for this. Please reach out to Mary Chen "
        "(mary.chen@acme.example), she runs our sales ops.",
    )
    draft = _approve_latest(stack, ActionType.email_response)
    assert draft.action_data["to"] == ["mary.chen@acme.example"]
    assert draft.action_data["cc"] == [PROSPECT]
    mary = [a for a in stack.rows(SchedulingAttendee) if a.email == "mary.chen@acme.example"]
    assert len(mary) == 1 and mary[0].side == "external" and mary[0].required
    mail = _last_mail_to(stack, "mary.chen@acme.example")
    offered = [datetime.fromisoformat(s) for s in draft.action_data["slots"]]
    assert offered and all(s > stack.clock.now() for s in offered)
    assert "Mary" in _text(mail)
    assert _audit(stack, "delegate_contacted") and _audit(stack, "attendee_added")


def test_an_unusual_reply_asks_the_rep_and_clarify_drafts_a_question(stack: Stack) -> None:
    _reply(stack, "Hmm, what is this about? I don't remember talking to you.")
    card = _decision_card(stack, "decision_clarify")
    assert _request(stack).event_next_action_subtype == "unusual"
    _choose(stack, "decision_clarify", card)
    draft = _approve_latest(stack, ActionType.email_response)
    assert draft.job_id is not None
    (job,) = stack.rows(SequenceJob, col(SequenceJob.id) == draft.job_id)
    assert job.event_type == "decision_made"
    mail = _last_mail_to(stack, PROSPECT)
    assert mail["Subject"].startswith("Re: ")
    assert _audit(stack, "clarification_sent")


def test_i_will_handle_this_pauses_the_request(stack: Stack) -> None:
    _reply(stack, "Who gave you my address? This is not okay.")
    card = _decision_card(stack, "decision_handle_myself")
    stack.click("decision_handle_myself", card)
    wait_for(lambda: _request(stack).status == RequestStatus.paused, "paused")


def test_a_second_rejection_asks_for_alternatives_and_offers_them_to_everyone(
    stack: Stack,
) -> None:
    first = send_first_email(stack)
    deliver(stack, a_reply(first, "None of those times work for us, sorry."))
    stack.poll_mail()
    counter = _approve_latest(stack, ActionType.email_response)
    ours = _last_mail_to(stack, PROSPECT)
    assert counter.action_data["slots"]
    stack.clock.advance(timedelta(hours=3))  # they take a while to answer again
    deliver(stack, a_reply(ours, "Those don't work either, we're fully booked."))
    stack.poll_mail()
    stack.tick()
    card = _decision_card(stack, "decision_offer_times")
    assert _request(stack).event_next_action_subtype == "get_alternatives"
    _choose(stack, "decision_offer_times", card)
    wait_for(
        lambda: _request(stack).event_next_action_subtype == "getting_alternatives", "gathering"
    )
    fresh = _approve_latest(stack, ActionType.email_response)
    assert fresh.job_id != counter.job_id and fresh.action_data["to"] == [PROSPECT]


def test_one_acceptance_waits_for_the_other_required_prospect(stack: Stack) -> None:
    said = stack.schedule("demo with john@acme.example, mary@acme.example next week 45m")
    assert "ACME-1" in said
    stack.drain()
    initial = _approve_latest(stack, ActionType.email_initial)
    stack.poll_mail()
    first = _last_mail_to(stack, PROSPECT)
    offered = [datetime.fromisoformat(s["start"]) for s in _request(stack).proposed_slots]
    tuesday = next(s for s in offered if s.astimezone(UTC).weekday() == 1)
    deliver(stack, a_reply(first, "Tuesday works for me."))
    stack.poll_mail()
    stack.tick()
    wait_for(
        lambda: [m for m in stack.slack.messages if "still waiting on" in m.text], "waiting DM"
    )
    assert not stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book")
    deliver(
        stack,
        a_reply(first, "Tuesday is good for me too.", sender="Mary Roe <mary@acme.example>"),
    )
    stack.poll_mail()
    booking = _approve_latest(stack, ActionType.calendar_book)
    assert datetime.fromisoformat(booking.action_data["start"]) == tuesday
    assert initial.status == ActionStatus.executed


def test_a_person_out_of_office_holds_follow_ups_until_they_are_back(stack: Stack) -> None:
    _reply(stack, "I'm on parental leave until December 14, sorry!")
    request = _request(stack)
    assert request.next_action_type == "follow_up"
    assert request.next_action_at == datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
    # Short "away until" notes are caught as auto-replies by intake; longer ones by intent.
    assert _audit(stack, "follow_ups_held") or _audit(stack, "auto_reply")
    assert stack.rows(PendingAction, col(PendingAction.status) == "pending") == []
    assert stack.clock.now() + timedelta(days=1) < request.next_action_at
