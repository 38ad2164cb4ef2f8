"""A rep's note on a rejected draft shapes the next one: read by rules, applied to the times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col

from db.models import ActionType, PendingAction, RequestStatus, SchedulingRequest, SequenceJob
from skills.rep_note import NoteRules, read_rep_note
from tests.support.stack import Stack, wait_for

PROSPECT = "john@acme.example"


@pytest.mark.parametrize(
    ("note", "avoid", "prefer"),
    [
        ("not Fridays", ("friday",), ()),
        ("no mornings please", ("morning",), ()),
        ("Friday afternoons are bad", ("friday_afternoon",), ()),
        ("afternoons only", (), ("afternoon",)),
        ("Mondays don’t work; mornings only", ("monday",), ("morning",)),
        ("not Mondays and mornings only", ("monday",), ("morning",)),
        # Unsure whether "mornings" covers Tuesday too: the safer reading leaves all of it out.
        ("I'm busy on Tue and Thu mornings", ("tuesday", "thursday_morning"), ()),
        ("not Mondays or Friday afternoons", ("monday", "friday_afternoon"), ()),
        ("prefer afternoons but not Wednesday", ("wednesday",), ("afternoon",)),
        ("skip mon or fri", ("monday", "friday"), ()),
        # Nothing about times, or no way to tell which way: nothing to apply.
        ("Too pushy; mention the pilot.", (), ()),
        ("Tuesday", (), ()),
        ("we sat down on Sunday", (), ()),
        ("Tuesdays are best", (), ()),  # the slot finder has no preferred weekday
    ],
)
def test_notes_become_slot_rules(
    note: str, avoid: tuple[str, ...], prefer: tuple[str, ...]
) -> None:
    assert read_rep_note(note) == NoteRules(avoid, prefer)


def test_rules_read_back_as_a_sentence() -> None:
    rules = read_rep_note("not Mondays or Friday afternoons; mornings only")
    assert rules.describe() == "avoiding Mondays and Friday afternoons; preferring mornings"
    assert read_rep_note("no evenings").describe() == "avoiding evenings"
    assert not read_rep_note("too formal")


def _reject(stack: Stack, note: str) -> None:
    card = wait_for(stack.cards, "the card")[-1]
    opened = len(stack.slack.modals)
    stack.click("reject_action", card)
    # The listener opens the modal after the ack: wait for this click's, not an earlier one.
    modal = wait_for(lambda: stack.slack.modals[opened:], "the reject modal")[-1]
    assert "afternoons only" in modal["blocks"][0]["hint"]["text"]
    assert stack.submit(modal, {"reason": {"reason": {"value": note}}}).status == 200
    stack.drain()


def test_a_note_about_times_redrafts_the_first_email_with_other_times(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    (first,) = stack.rows(PendingAction)
    offered = [datetime.fromisoformat(s) for s in first.action_data["slots"]]
    zone = ZoneInfo("America/New_York")  # the rep's zone, and the prospect's assumed one
    assert any(s.astimezone(zone).weekday() == 0 for s in offered), "a Monday was offered"
    assert any(s.astimezone(zone).hour < 12 for s in offered), "a morning was offered"

    _reject(stack, "Not Mondays, and afternoons only please")

    cards = wait_for(lambda: stack.cards()[1:], "the redrafted card")
    shown = str(cards[-1].blocks)
    assert "Redrafted after your note “Not Mondays, and afternoons only please”" in shown
    assert "avoiding Mondays; preferring afternoons" in shown
    (second,) = stack.rows(PendingAction, col(PendingAction.status) == "pending")
    assert second.action_type == ActionType.email_initial and second.id != first.id
    slots = [datetime.fromisoformat(s).astimezone(zone) for s in second.action_data["slots"]]
    assert slots and all(s.weekday() != 0 for s in slots)
    assert all(s.hour >= 12 for s in slots), slots
    assert second.action_data["message_id"] != first.action_data["message_id"]
    (request,) = stack.rows(SchedulingRequest)
    assert (request.avoid_days, request.preferred_times) == (["monday"], ["afternoon"])
    status = stack.command_response(stack.command("status ACME-1"))
    assert "Offering times avoiding Mondays; preferring afternoons." in status
    assert request.status == RequestStatus.proposing
    assert {j.event_type for j in stack.rows(SequenceJob)} == {
        "scheduling_requested",
        "redraft_requested",
    }

    # The redraft is an ordinary draft: rejected again without a note, the request pauses.
    _reject(stack, "")
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused
    assert len(stack.rows(SequenceJob)) == 2
    assert stack.inbox(PROSPECT) == []


def test_a_note_with_nothing_about_times_pauses_and_keeps_the_rules(stack: Stack) -> None:
    stack.schedule(f"demo with {PROSPECT} next week")
    stack.drain()
    _reject(stack, "Too formal, I'll write it myself")
    (request,) = stack.rows(SchedulingRequest)
    assert request.status == RequestStatus.paused
    assert (request.avoid_days, request.preferred_times) == ([], [])
    assert len(stack.rows(SequenceJob)) == 1 and len(stack.cards()) == 1
