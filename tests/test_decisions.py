"""Replies that need more than a booking: decisions for the rep (seed 003) and the drafts for
questions, hand-offs and absences. Each runs the real flow on both backends: the first email
approved and sent, the prospect's reply in the rep's mailbox, the clock polling, and the rep
answering cards with signed clicks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from orchestrator.outbox.decisions import FILL_IN_FIRST
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


def _decided(stack: Stack, card: Message, *, label: str, outcome: str) -> Message:
    """The card as chat.update redrew it after the rep's click (the last thing the listener
    does): the story kept, every button gone, the choice and its outcome in their place. A
    choice that worked tells nobody anything ephemeral."""
    hook = stack.last_hook
    updated = wait_for(
        lambda: [m for m in stack.slack.messages if m.ts == card.ts and m.history],
        "the decided card",
    )[0]
    note = f":white_check_mark: <@{REP_ID}> chose *{label}*. {outcome}"
    assert updated.text == note
    assert not [b for b in updated.blocks if b["type"] == "actions"]
    assert "decision_" not in json.dumps(updated.blocks)
    assert updated.blocks[:-1] == [b for b in card.blocks if b["type"] != "actions"]
    assert updated.blocks[-1]["type"] == "context" and note in json.dumps(updated.blocks[-1])
    (update,) = [c for c in stack.slack.calls_to("chat.update") if c["args"]["ts"] == card.ts]
    assert update["args"]["channel"] == card.channel == f"D{REP_ID}"
    assert [r for r in stack.slack.responses if r["hook"] == hook] == []
    return updated


def _told(stack: Stack) -> dict[str, object]:
    """The one ephemeral answer to the last click: only the clicker sees it, the card stays."""
    hook = stack.last_hook
    (reply,) = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == hook], "the ephemeral reply"
    )
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    return reply


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
    decided = _decided(
        stack,
        card,
        label="Keep it open",
        outcome="ACME-1 stays open. Next follow-up: Tue Dec 1, 9:00 AM EST, drafted for your "
        "approval.",
    )

    # The old card clicked again: only the clicker is told, the card is not redrawn again.
    stack.click("decision_cancel_request", card)
    assert _told(stack)["text"] == "Already decided: ACME-1 is no longer waiting on you."
    assert stack.slack.message(card.channel, card.ts).blocks == decided.blocks
    assert len(stack.slack.message(card.channel, card.ts).history) == 1
    assert _request(stack).status == before.status


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
    from orchestrator.outbox.decisions import decide

    # An edit names the version it was made on, as the Edit modal does.
    assert decide(
        stack.deps,
        action_id=draft.id,
        decision="edit",
        slack_user_id=REP_ID,
        edits={"body": body},
        version=still.draft_version,
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
    # The address came from their email: nothing happens to it until the rep confirms it.
    card = _decision_card(stack, "decision_add_recipient")
    assert "mary.chen@acme.example" in json.dumps(card.blocks)
    assert "Different domain" not in json.dumps(card.blocks)  # she is at the prospect's
    assert not [a for a in stack.rows(SchedulingAttendee) if a.email == "mary.chen@acme.example"]
    assert {a.action_type for a in stack.rows(PendingAction)} == {ActionType.email_initial}
    stack.click("decision_add_recipient", card)
    wait_for(
        lambda: stack.rows(SequenceJob, col(SequenceJob.event_type) == "recipient_confirmed"),
        "the confirmation's job",
    )
    stack.drain()
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
    _decided(
        stack,
        card,
        label="Ask them to clarify",
        outcome="Ask them to clarify: a draft for ACME-1 is on its way for your approval.",
    )
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
    _decided(
        stack,
        card,
        label="I'll handle this",
        outcome="Over to you. Paused ACME-1. No follow-ups until you `/schedule resume ACME-1`.",
    )


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
    assert "ACME-1" in stack.schedule(
        "demo with john@acme.example, mary@acme.example next week 45m"
    )
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


# --- choosing one of the gathered alternatives ---------------------------------------------------

MARY = "mary@acme.example"
MARY_FROM = f"Mary Roe <{MARY}>"
NEW_YORK = ZoneInfo("America/New_York")
THURSDAY_11 = datetime(2026, 12, 3, 11, 0, tzinfo=NEW_YORK)
FRIDAY_14 = datetime(2026, 12, 4, 14, 0, tzinfo=NEW_YORK)
PICK_FIRST = "Pick one of the times first, then press Book."
BOOKED = "Book the selected time: a draft for ACME-1 is on its way for your approval."


def _said(moment: datetime) -> str:
    """A time as a prospect writes it, in New York: "tuesday dec 1 at 12:15pm"."""
    local = moment.astimezone(NEW_YORK)
    return f"{local:%A %b} {local.day} at {local.hour % 12 or 12}:{local:%M}{local:%p}".lower()


def _option_time(moment: datetime) -> str:
    """How the card's radio names a time for the rep (in their zone): "Thu Dec 3, 11:00 AM"."""
    local = moment.astimezone(NEW_YORK)
    return f"{local:%a %b} {local.day}, {local.hour % 12 or 12}:{local:%M} {local:%p}"


def _radio_options(card: Message) -> tuple[dict[str, Any], dict[datetime, tuple[str, set[str]]]]:
    """The card's time picker, and per time: its label's time and who can attend it."""
    (picker,) = [
        e
        for b in card.blocks
        for e in b.get("elements", [])
        if e.get("action_id") == "decision_slot"
    ]
    assert picker["type"] == "radio_buttons"
    shown = {}
    for option in picker["options"]:
        when, _, who = option["text"]["text"].partition(" · ")
        shown[datetime.fromisoformat(option["value"])] = (when, set(who.split(", ")))
    return picker, shown


def _picked(card: Message, moment: datetime) -> dict[str, Any]:
    """The state Slack sends with a click once the rep chose `moment` in the radio."""
    picker, _ = _radio_options(card)
    (option,) = [o for o in picker["options"] if datetime.fromisoformat(o["value"]) == moment]
    return {
        "decision_slots": {"decision_slot": {"type": "radio_buttons", "selected_option": option}}
    }


def _booked_slot_decisions(stack: Stack) -> list[SchedulingAction]:
    return [a for a in _audit(stack, "decision_made") if a.details["choice"] == "book_slot"]


def _prospect_says(
    stack: Stack, text: str, *, to: str = PROSPECT, sender: str = f"John Doe <{PROSPECT}>"
) -> None:
    """An hour later, `to` answers our latest email to them; the clock reads and runs it."""
    stack.clock.advance(timedelta(hours=1))
    deliver(stack, a_reply(_last_mail_to(stack, to), text, sender=sender))
    stack.poll_mail()
    stack.tick()


def _fresh_times_for_both(stack: Stack, *, johns_second_no: str) -> PendingAction:
    """John and Mary are invited; John turns our times down twice, so the rep asks everyone
    for fresh times (seed 003's get_alternatives → getting_alternatives); that email is sent."""
    assert "ACME-1" in stack.schedule(f"demo with {PROSPECT}, {MARY} next week 45m")
    stack.drain()
    _approve_latest(stack, ActionType.email_initial)
    stack.poll_mail()
    _prospect_says(stack, "None of those times work for us.")
    _approve_latest(stack, ActionType.email_response)
    _prospect_says(stack, johns_second_no)
    stack.clock.advance(timedelta(hours=1))
    _choose(stack, "decision_offer_times", _decision_card(stack, "decision_offer_times"))
    fresh = _approve_latest(stack, ActionType.email_response)
    assert sorted(fresh.action_data["to"]) == [PROSPECT, MARY]
    # Written to both: Mary suggested nothing, so nobody is thanked for suggesting a time.
    assert fresh.action_data["body"].startswith("Hi all,\n\nThanks for your replies.")
    assert "suggesting" not in fresh.action_data["body"]
    assert _request(stack).event_next_action_subtype == "getting_alternatives"
    return fresh


def _book_from_the_card(stack: Stack, card: Message, moment: datetime) -> PendingAction:
    """Pick `moment` in the radio, press Book: the card is redrawn with the outcome and a
    calendar draft for exactly that time waits for approval."""
    before = len(stack.rows(SequenceJob, col(SequenceJob.event_type) == "decision_made"))
    stack.click("decision_book_slot", card, state=_picked(card, moment))
    decided = _decided(stack, card, label="Book the selected time", outcome=BOOKED)
    assert "decision_slot" not in json.dumps(decided.blocks)
    wait_for(
        lambda: (
            len(stack.rows(SequenceJob, col(SequenceJob.event_type) == "decision_made")) > before
        ),
        "the decision's job",
    )
    stack.drain()
    (made,) = _booked_slot_decisions(stack)
    assert datetime.fromisoformat(made.details["slot"]) == moment and made.actor == "user"
    assert _request(stack).event_next_action_subtype == "all_confirmed"
    (booking,) = stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book")
    assert booking.status == ActionStatus.pending and booking.slack_ts
    assert datetime.fromisoformat(booking.action_data["start"]) == moment
    assert datetime.fromisoformat(booking.action_data["end"]) == moment + timedelta(minutes=45)
    assert sorted(a["email"] for a in booking.action_data["attendees"]) == [PROSPECT, MARY]
    (job,) = stack.rows(SequenceJob, col(SequenceJob.id) == booking.job_id)
    assert job.event_type == "decision_made"

    # Decided once: Book on the same card again is only answered, privately.
    stack.click("decision_book_slot", card, state=_picked(card, moment))
    assert _told(stack)["text"] == "Already decided: ACME-1 is no longer waiting on you."
    assert len(_booked_slot_decisions(stack)) == 1
    assert len(stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book")) == 1
    assert len(stack.slack.message(card.channel, card.ts).history) == 1
    return booking


def test_reschedule_lists_who_can_attend_each_time_and_books_the_picked_one(stack: Stack) -> None:
    fresh = _fresh_times_for_both(stack, johns_second_no="Those don't work either, sorry.")
    everyone = datetime.fromisoformat(fresh.action_data["slots"][0])
    assert everyone != THURSDAY_11
    _prospect_says(stack, "The first one works for me.", to=MARY, sender=MARY_FROM)
    # John has not answered the fresh times yet: nothing for the rep to pick from.
    assert _request(stack).event_next_action_subtype == "getting_alternatives"
    assert not [c for c in stack.cards() if _has(c, "decision_book_slot")]
    _prospect_says(stack, f"Could we do {_said(everyone)} or {_said(THURSDAY_11)} instead?")

    card = _decision_card(stack, "decision_book_slot")
    request = _request(stack)
    assert (request.event_next_action, request.event_next_action_subtype) == (
        "waiting_for_decision",
        "reschedule",
    )
    text = json.dumps(card.blocks, ensure_ascii=False)
    assert "Their alternatives are in: pick a time" in text and "2 options gathered" in text
    assert [e["action_id"] for e in card.blocks[-1]["elements"]] == [
        "decision_book_slot",
        "decision_offer_times",
        "decision_handle_myself",
    ]
    # One option per time, oldest first, each saying who can attend: Mary took only the first.
    picker, shown = _radio_options(card)
    assert list(shown) == sorted([everyone, THURSDAY_11])
    assert shown[everyone] == (_option_time(everyone), {"everyone"})
    assert shown[THURSDAY_11] == ("Thu Dec 3, 11:00 AM", {"Rita Moreno", PROSPECT})
    # The time that suits everyone is preselected; the rep takes the other one.
    assert datetime.fromisoformat(picker["initial_option"]["value"]) == everyone
    _book_from_the_card(stack, card, THURSDAY_11)


def test_a_conflict_offers_each_persons_time_and_book_needs_a_pick(stack: Stack) -> None:
    _fresh_times_for_both(
        stack, johns_second_no="Those don't work either. Could we do Thursday Dec 3 at 11am?"
    )
    _prospect_says(stack, "Could we do Friday Dec 4 at 2pm instead?", to=MARY, sender=MARY_FROM)
    # Mary's time is an alternative to weigh once John has answered, not a booking yet.
    assert _request(stack).event_next_action_subtype == "getting_alternatives"
    assert stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book") == []
    _prospect_says(stack, "Still only Thursday Dec 3 at 11am for me.")

    card = _decision_card(stack, "decision_book_slot")
    assert _request(stack).event_next_action_subtype == "resolve_conflict"
    text = json.dumps(card.blocks, ensure_ascii=False)
    assert "No time suits everyone" in text and "no common slot" in text
    # Reasons name times in the request's zone, as the rep reads them, not as raw offsets.
    assert "Thu 03 Dec 11:00 EST" in text and "UTC-05:00" not in text
    picker, shown = _radio_options(card)
    assert shown == {
        THURSDAY_11: ("Thu Dec 3, 11:00 AM", {"Rita Moreno", PROSPECT}),
        FRIDAY_14: ("Fri Dec 4, 2:00 PM", {"Rita Moreno", MARY}),
    }
    assert "initial_option" not in picker  # no time suits everyone, so none is preselected

    # Book with no time picked (Slack sends the radio with nothing selected): only the
    # clicker is told to pick one; the card, the request and the drafts stay as they were.
    unpicked = {
        "decision_slots": {"decision_slot": {"type": "radio_buttons", "selected_option": None}}
    }
    stack.click("decision_book_slot", card, state=unpicked)
    assert _told(stack)["text"] == PICK_FIRST
    stack.click("decision_book_slot", card)  # a client that sent no state at all
    assert _told(stack)["text"] == PICK_FIRST
    assert stack.slack.message(card.channel, card.ts).history == []
    assert _request(stack).event_next_action == "waiting_for_decision"
    assert _booked_slot_decisions(stack) == []
    assert stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book") == []

    _book_from_the_card(stack, card, FRIDAY_14)
