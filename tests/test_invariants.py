"""The invariants themselves (tests/support/invariants.py) see what they are meant to see: each
holds on a conversation that went right and names the break when the world is bent by hand."""

from __future__ import annotations

from datetime import timedelta

from connectors.mail.local import LocalMailbox
from connectors.ports import OutboundEmail
from db.models import LocalCalendarEvent, PendingAction, SchedulingRequest
from tests.support import invariants
from tests.support.conversation import moves
from tests.support.conversation.rep_slack import rep_schedules
from tests.support.conversation.world import PROSPECT, RITA, World
from tests.support.stack import Stack

DEMO = f"demo with {PROSPECT} next week 45m"


def _booked(stack: Stack) -> World:
    world = World(stack, RITA)
    for turn in [
        rep_schedules(DEMO),
        moves.rep_approves_newest(),
        moves.prospect_says("accept", 1),
        moves.rep_approves_newest(),  # the booking
        moves.rep_approves_newest(),  # the confirmation
    ]:
        turn.run(world)
    assert world.request().status == "confirmed"
    return world


def test_a_conversation_that_went_right_keeps_every_invariant(stack: Stack) -> None:
    sent = invariants.SentTimes()
    world = _booked(stack)
    assert invariants.at_most_one_live_event(stack.deps) == []
    assert invariants.nothing_sent_without_approval(stack.deps) == []
    assert invariants.every_open_request_is_watched(stack.deps) == []
    assert sent.check(stack.deps) == []
    assert len(sent.seen) == 2, "the first email and the confirmation were read"
    assert world.booked()


def test_a_second_live_event_for_the_request_is_named(stack: Stack) -> None:
    world = _booked(stack)
    (event,) = world.booked()
    (booking,) = world.actions("calendar_book")
    twin = PendingAction(
        **{
            **booking.model_dump(exclude={"id"}),
            "idempotency_key": "a-second-booking",
        }
    )
    with stack.deps.uow() as uow:
        uow.session.add(twin)
        uow.session.add(
            LocalCalendarEvent(
                **{
                    **event.model_dump(exclude={"id"}),
                    "event_id": f"convene-{twin.id.hex}",
                    "start": event.start + timedelta(days=1),
                    "end": event.end + timedelta(days=1),
                }
            )
        )
        uow.commit()
    (broken,) = invariants.at_most_one_live_event(stack.deps)
    assert broken.startswith("ACME-1 has 2 live events")


def test_mail_that_no_approved_draft_sent_is_named(stack: Stack) -> None:
    _booked(stack)
    LocalMailbox(stack.deps.sessions, clock=stack.clock).send(
        OutboundEmail(
            message_id="<unapproved@convene.local>",
            sender=RITA.email,
            to=(PROSPECT,),
            subject="Following up",
            body="Any news?",
        )
    )
    assert invariants.nothing_sent_without_approval(stack.deps) == [
        f"sent without a draft: 'Following up' to {PROSPECT}"
    ]


def test_a_request_nothing_will_wake_is_named(stack: Stack) -> None:
    world = World(stack, RITA)
    rep_schedules(DEMO).run(world)
    moves.rep_approves_newest().run(world)
    assert invariants.every_open_request_is_watched(stack.deps) == []
    with stack.deps.uow() as uow:
        request = uow.session.get_one(SchedulingRequest, world.request().id)
        request.next_action_at = request.next_action_type = None
        uow.session.add(request)
        uow.commit()
    (broken,) = invariants.every_open_request_is_watched(stack.deps)
    assert broken.startswith("ACME-1 is awaiting_response with no wake-up and no open card")


def test_a_sent_time_that_was_busy_is_named(stack: Stack) -> None:
    """The first email's times, judged after the rep's calendar filled at one of them (as if
    the send had raced the calendar): the clash is named."""
    sent = invariants.SentTimes()
    world = World(stack, RITA)
    rep_schedules(DEMO).run(world)
    moves.rep_approves_newest().run(world)
    moves.rep_busy_at_offered(2).run(world)
    (broken,) = sent.check(stack.deps)
    assert "Wed Dec 09 09:00 EST clashes with rita@northwind.example's 'Board meeting'" in broken


def test_a_request_that_ended_without_saying_why_is_named(stack: Stack) -> None:
    world = World(stack, RITA)
    rep_schedules(DEMO).run(world)
    assert invariants.every_ending_says_why(stack.deps) == []
    with stack.deps.uow() as uow:
        request = uow.session.get_one(SchedulingRequest, world.request().id)
        request.status = "cancelled"
        uow.session.add(request)
        uow.commit()
    assert invariants.every_ending_says_why(stack.deps) == ["ACME-1 is cancelled with outcome None"]
