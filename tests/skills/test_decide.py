"""Tests for skills.decide: every row and principle of seed 003, as tables, plus properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skills.decide import decide_attendee, decide_attendees, decide_event
from skills.detect_intent import IntentAnalysis
from skills.next_move.model import (
    EVENT_TYPE,
    NON_BLOCKING_ACTIONS,
    AttendeeDecision,
    AttendeeFacts,
    EventDecision,
    EventProgress,
    MessageFacts,
    Outreach,
    format_slot,
    is_named_in_title,
)

# Monday 2 March 2026, 15:00 UTC.
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SLOT_A = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # Wed 04 Mar 15:00
SLOT_B = datetime(2026, 3, 5, 16, 0, tzinfo=UTC)  # Thu 05 Mar 16:00
SLOT_C = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # Fri 06 Mar 17:00
PAST = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def said(hours_ago: float, intent: str, **extra: object) -> MessageFacts:
    return MessageFacts(received_at=ago(hours_ago), intent=intent, **extra)  # type: ignore[arg-type]


def sent(hours_ago: float, kind: str = "initial") -> Outreach:
    return Outreach(sent_at=ago(hours_ago), kind=kind)  # type: ignore[arg-type]


def prospect(
    *messages: MessageFacts, outreach: tuple[Outreach, ...] = (sent(100),), **extra: object
) -> AttendeeFacts:
    return AttendeeFacts(
        key="ann@acme.com", name="Ann", messages=messages, outreach=outreach, **extra
    )  # type: ignore[arg-type]


ORGANIZER = AttendeeFacts(key="rep@convene.io", name="Rita", side="internal", organizer=True)


# --- per attendee: one row per situation ----------------------------------------------------------

FOLLOWED_UP_5_RECENTLY = (sent(400), *(sent(h, "follow_up") for h in (350, 300, 200, 100, 10)))
FOLLOWED_UP_5 = (sent(450), *(sent(h, "follow_up") for h in (400, 350, 250, 150, 72)))
ANSWERED = (sent(100), sent(20, "reply"))  # we wrote back 20 h ago, after their reply
A = "Wed 04 Mar 15:00 UTC"

# fmt: off
ATTENDEE_ROWS = [
    # (situation, facts, score, next action, reason)
    # Silence and the follow-up cadence (24 h / 48 h / 72 h, max 5 follow-ups, 21 days).
    ("not contacted yet", prospect(outreach=()),
     50, "wait", "not contacted yet"),
    ("first email 10 h ago", prospect(outreach=(sent(10),)),
     50, "wait", "no reply yet; 0 follow-ups sent"),
    ("first email 24 h ago: follow up", prospect(outreach=(sent(24),)),
     50, "follow_up", "no reply yet; 0 follow-ups sent"),
    ("1 follow-up 30 h ago, next after 48 h",
     prospect(outreach=(sent(60), sent(30, "follow_up"))),
     42, "wait", "no reply yet; 1 follow-up sent"),
    ("1 follow-up 48 h ago", prospect(outreach=(sent(80), sent(48, "follow_up"))),
     42, "follow_up", "no reply yet; 1 follow-up sent"),
    ("3 follow-ups, last 72 h ago",
     prospect(outreach=(sent(300), *(sent(h, "follow_up") for h in (250, 150, 72)))),
     26, "follow_up", "no reply yet; 3 follow-ups sent"),
    ("5 follow-ups, last 10 h ago: one more wait", prospect(outreach=FOLLOWED_UP_5_RECENTLY),
     10, "wait", "no reply yet; 5 follow-ups sent"),
    ("5 follow-ups, last 72 h ago: unresponsive", prospect(outreach=FOLLOWED_UP_5),
     5, "close:unresponsive", "no reply after 5 follow-ups"),
    ("21 days of silence", prospect(outreach=(sent(21 * 24), sent(20, "follow_up"))),
     5, "close:unresponsive", "no reply in 21 days"),
    ("out of office until a future date",
     prospect(said(5, "out_of_office", ooo_return=date(2026, 3, 9)), outreach=(sent(30),)),
     50, "wait", "no reply yet; out of office until 2026-03-09"),
    ("out of office, back already",
     prospect(said(50, "out_of_office", ooo_return=date(2026, 3, 1)), outreach=(sent(60),)),
     50, "follow_up", "no reply yet; 0 follow-ups sent"),
    # Acceptance.
    ("accepted one slot, alone", prospect(said(2, "accept", accepted_slot=SLOT_A)),
     85, "confirm:pending_others", f"accepted {A}"),
    ("accepted, which time unclear", prospect(said(2, "accept")),
     70, "reply", "accepted, but which time is unclear"),
    ("accepted a slot that has passed", prospect(said(2, "accept", accepted_slot=PAST)),
     60, "reply", "accepted Sun 01 Mar 15:00 UTC, which has passed"),
    ("accepted and asked a question",
     prospect(said(2, "accept", accepted_slot=SLOT_A, question="Is pricing covered?")),
     80, "confirm:pending_others", f"accepted {A}; asked: Is pricing covered?"),
    ("accepted and asked, we answered",
     prospect(said(30, "accept", accepted_slot=SLOT_A, question="Pricing?"), outreach=ANSWERED),
     85, "confirm:pending_others", f"accepted {A}"),
    ("accepted by email, then declined the invite",
     prospect(said(5, "accept", accepted_slot=SLOT_A), invite_status="declined"),
     20, "reply", f"accepted {A} but declined the invite"),
    ("an auto-reply after accepting does not undo it",
     prospect(said(5, "accept", accepted_slot=SLOT_A),
              said(1, "out_of_office", ooo_return=date(2026, 3, 3))),
     85, "confirm:pending_others", f"accepted {A}"),
    # Calendar RSVPs without a reply.
    ("tentative on the invite", prospect(invite_status="tentative"),
     70, "wait", "tentatively accepted the calendar invite"),
    ("declined the invite, no word why", prospect(invite_status="declined"),
     20, "reply", "declined the calendar invite without saying why"),
    # Slot rejection: persist locally before escalating (principle 3).
    ("counter-proposed times, first time",
     prospect(said(2, "counter_propose", proposed_slots=(SLOT_C, SLOT_B))),
     40, "reply", "proposed Thu 05 Mar 16:00 UTC, Fri 06 Mar 17:00 UTC"),
    ("said the times do not work, first time", prospect(said(2, "counter_propose")),
     30, "reply", "said the times do not work"),
    ("rejected, we persisted, awaiting them",
     prospect(said(30, "counter_propose"), outreach=ANSWERED),
     30, "wait", "we answered: said the times do not work; 0 follow-ups sent"),
    ("rejected again after we persisted, with times",
     prospect(said(30, "counter_propose"), said(2, "counter_propose", proposed_slots=(SLOT_C,)),
              outreach=ANSWERED),
     15, "escalate:alternatives_proposed",
     "rejected our times again after we persisted; proposed Fri 06 Mar 17:00 UTC"),
    ("rejected again after we persisted, no times",
     prospect(said(30, "counter_propose"), said(2, "counter_propose"), outreach=ANSWERED),
     10, "escalate:alternatives_proposed",
     "rejected our times again after we persisted; gave no other time"),
    ("two rejections with nothing sent between: not persisted yet",
     prospect(said(30, "counter_propose"), said(2, "counter_propose"), outreach=(sent(100),)),
     30, "reply", "said the times do not work"),
    ("asked to move the meeting", prospect(said(2, "reschedule", proposed_slots=(SLOT_B,))),
     40, "reply", "proposed Thu 05 Mar 16:00 UTC"),
    ("wants to meet next quarter",
     prospect(said(2, "reschedule", reschedule_later="next quarter")),
     20, "escalate:unusual", "wants to meet later: next quarter"),
    # Questions and delegation.
    ("asked a question", prospect(said(2, "question", question="Who else joins?")),
     55, "reply", "asked: Who else joins?"),
    ("asked, we answered",
     prospect(said(30, "question", question="Who else joins?"), outreach=ANSWERED),
     50, "wait", "we answered: asked: Who else joins?; 0 follow-ups sent"),
    ("delegated", prospect(said(2, "delegate", delegate="bob@acme.com")),
     45, "reply", "handed the meeting to bob@acme.com"),
    ("delegated, we wrote to the delegate",
     prospect(said(30, "delegate", delegate="bob@acme.com"), outreach=ANSWERED),
     40, "wait", "handed the meeting to bob@acme.com; 0 follow-ups sent"),
    # Closing and escalating.
    ("declined", prospect(said(2, "decline")),
     0, "close:declined", "declined the meeting"),
    ("declined, we said goodbye", prospect(said(30, "decline"), outreach=ANSWERED),
     0, "close:declined", "declined the meeting"),
    ("declined with low confidence", prospect(said(2, "decline", confidence="low")),
     25, "escalate:unusual", "decline (low confidence)"),
    ("confused", prospect(said(2, "confused")),
     25, "escalate:unusual", "confused (high confidence)"),
    ("unclear", prospect(said(2, "unclear", confidence="medium")),
     25, "escalate:unusual", "unclear (medium confidence)"),
    ("rules flagged it for the rep", prospect(said(2, "question", escalate=True)),
     25, "escalate:unusual", "question (high confidence)"),
    ("negative tone", prospect(said(2, "counter_propose", sentiment="negative")),
     25, "escalate:unusual", "negative tone (counter propose)"),
    ("escalated, the rep wrote back", prospect(said(30, "confused"), outreach=ANSWERED),
     30, "wait", "we answered: confused (high confidence); 0 follow-ups sent"),
    # Internal attendees: their calendar shaped the slots already.
    ("internal organizer, not emailed", ORGANIZER,
     85, "confirm:pending_others", "internal; calendar checked when slots were chosen"),
]
# fmt: on


@pytest.mark.parametrize(
    ("facts", "score", "action", "reason"),
    [row[1:] for row in ATTENDEE_ROWS],
    ids=[row[0] for row in ATTENDEE_ROWS],
)
def test_attendee_rows(facts: AttendeeFacts, score: int, action: str, reason: str) -> None:
    decision = decide_attendee(facts, now=NOW)
    assert (decision.score, decision.next_action, decision.reason) == (score, action, reason)


def test_messages_are_read_in_time_order() -> None:
    shuffled = prospect(said(2, "accept", accepted_slot=SLOT_A), said(30, "question"))
    assert decide_attendee(shuffled, now=NOW).next_action == "confirm:pending_others"


def test_rejection_facts_carry_proposals_and_persistence() -> None:
    facts = prospect(
        said(30, "counter_propose"),
        said(2, "counter_propose", proposed_slots=(SLOT_C, SLOT_B)),
        outreach=(sent(100), sent(20, "reply")),
    )
    decision = decide_attendee(facts, now=NOW)
    assert (decision.proposed, decision.persisted) == ((SLOT_B, SLOT_C), True)


def test_delegation_is_recorded_once_acted_on() -> None:
    facts = prospect(
        said(30, "delegate", delegate="bob@acme.com"), outreach=(sent(100), sent(20, "reply"))
    )
    assert decide_attendee(facts, now=NOW).delegated_to == "bob@acme.com"


def test_invite_accepted_counts_as_accepting_the_invited_slot() -> None:
    decision = decide_attendee(prospect(invite_status="accepted"), now=NOW, invited_slot=SLOT_A)
    assert (decision.next_action, decision.slot, decision.score) == (
        "confirm:pending_others",
        SLOT_A,
        85,
    )


# --- confirm: pending_others vs finalized (looks across required attendees) -----------------------

FINALIZE_ROWS = [
    # (situation, attendees, expected actions, expected scores)
    (
        "prospect accepted, organizer's calendar fits: finalized",
        (prospect(said(2, "accept", accepted_slot=SLOT_A)), ORGANIZER),
        ("confirm:finalized", "confirm:finalized"),
        (95, 95),
    ),
    (
        "accepted and the invite too: 100",
        (prospect(said(2, "accept", accepted_slot=SLOT_A), invite_status="accepted"), ORGANIZER),
        ("confirm:finalized", "confirm:finalized"),
        (100, 95),
    ),
    (
        "two prospects on different slots: pending others",
        (
            prospect(said(2, "accept", accepted_slot=SLOT_A)),
            replace(prospect(said(2, "accept", accepted_slot=SLOT_B)), key="cy@acme.com"),
        ),
        ("confirm:pending_others", "confirm:pending_others"),
        (85, 85),
    ),
    (
        "second prospect silent: pending others",
        (
            prospect(said(2, "accept", accepted_slot=SLOT_A)),
            replace(prospect(outreach=(sent(10),)), key="cy@acme.com"),
        ),
        ("confirm:pending_others", "wait"),
        (85, 50),
    ),
    (
        "optional internal silent does not hold it back",
        (
            prospect(said(2, "accept", accepted_slot=SLOT_A)),
            ORGANIZER,
            AttendeeFacts(key="se@convene.io", side="internal", outreach=(sent(10),)),
        ),
        ("confirm:finalized", "confirm:finalized", "wait"),
        (95, 95, 50),
    ),
    (
        "optional on another slot stays pending",
        (
            prospect(said(2, "accept", accepted_slot=SLOT_A)),
            AttendeeFacts(
                key="se@convene.io",
                side="internal",
                messages=(said(1, "accept", accepted_slot=SLOT_B),),
            ),
        ),
        ("confirm:finalized", "confirm:pending_others"),
        (95, 85),
    ),
    (
        "delegator stands aside once the delegate accepts",
        (
            prospect(
                said(30, "delegate", delegate="bob@acme.com"),
                outreach=(sent(100), sent(20, "reply")),
            ),
            AttendeeFacts(
                key="bob@acme.com",
                messages=(said(2, "accept", accepted_slot=SLOT_A),),
                outreach=(sent(20),),
            ),
        ),
        ("wait", "confirm:finalized"),
        (40, 95),
    ),
]


@pytest.mark.parametrize(
    ("attendees", "actions", "scores"),
    [row[1:] for row in FINALIZE_ROWS],
    ids=[row[0] for row in FINALIZE_ROWS],
)
def test_finalize_rows(
    attendees: tuple[AttendeeFacts, ...], actions: tuple[str, ...], scores: tuple[int, ...]
) -> None:
    decisions = decide_attendees(attendees, now=NOW)
    assert tuple(d.next_action for d in decisions) == actions
    assert tuple(d.score for d in decisions) == scores


def test_finalized_reason_names_the_slot() -> None:
    decisions = decide_attendees(
        (prospect(said(2, "accept", accepted_slot=SLOT_A)), ORGANIZER), now=NOW
    )
    assert decisions[0].reason == "confirmed Wed 04 Mar 15:00 UTC; every required attendee agrees"


# --- who is required (principle 2) ----------------------------------------------------------------

REQUIRED_ROWS = [
    ("external", AttendeeFacts(key="a@acme.com", side="external"), True),
    ("organizer", AttendeeFacts(key="r@convene.io", side="internal", organizer=True), True),
    (
        "named in the title",
        AttendeeFacts(key="s@convene.io", side="internal", named_in_title=True),
        True,
    ),
    ("other internal", AttendeeFacts(key="s@convene.io", side="internal"), False),
]


@pytest.mark.parametrize(
    ("facts", "required"), [r[1:] for r in REQUIRED_ROWS], ids=[r[0] for r in REQUIRED_ROWS]
)
def test_required_rows(facts: AttendeeFacts, required: bool) -> None:
    assert facts.required is required


TITLE_ROWS = [
    ("Demo with Sam Lee and Acme", "Sam Lee", True),
    ("Acme x Convene — sam", "Sam Lee", True),
    ("Samantha's intro", "Sam Lee", False),
    ("Acme demo", "Sam Lee", False),
    ("Acme demo", "", False),
]


@pytest.mark.parametrize(("title", "name", "named"), TITLE_ROWS)
def test_named_in_title(title: str, name: str, named: bool) -> None:
    assert is_named_in_title(title, name=name) is named


# --- per event: the seed's Event Next Action table ------------------------------------------------


def att(
    action: str,
    score: int,
    *,
    key: str = "ann@acme.com",
    required: bool = True,
    external: bool = True,
    contacted: bool = True,
    **extra: object,
) -> AttendeeDecision:
    return AttendeeDecision(
        key=key,
        name=key.split("@")[0].title(),
        required=required,
        score=score,
        reason=f"{action} at {score}",
        next_action=action,  # type: ignore[arg-type]
        external=external,
        contacted=contacted,
        **extra,
    )  # type: ignore[arg-type]


RITA = att(
    "confirm:pending_others",
    85,
    key="rita@convene.io",
    external=False,
    contacted=False,
    any_slot=True,
)
RITA_FINAL = replace(RITA, next_action="confirm:finalized", score=95)
OPTIONAL_SILENT = att("wait", 50, key="sam@convene.io", required=False, external=False)
CREATED = NOW - timedelta(days=1)
RECENT = NOW - timedelta(hours=2)


def progress(current: str = "collecting_responses", **extra: object) -> EventProgress:
    return EventProgress(created_at=CREATED, current=current, **extra)  # type: ignore[arg-type]


def rejecting(
    score: int = 15,
    *,
    persisted: bool = True,
    key: str = "ann@acme.com",
    proposed: tuple[datetime, ...] = (SLOT_C,),
    action: str = "escalate:alternatives_proposed",
    last_reply_at: datetime = RECENT,
) -> AttendeeDecision:
    return att(
        action,
        score,
        key=key,
        proposed=proposed,
        persisted=persisted,
        last_reply_at=last_reply_at,
    )


IN_PROGRESS, WAITING, COMPLETE = "coordination_in_progress", "waiting_for_decision", "complete"

# One row per row of seed 003's Event Next Action table.
# fmt: off
EVENT_ROWS = [
    # (row, required attendees' outputs, progress, type, subtype, score, needs_rep)
    # Coordination in progress.
    ("reaching_out: nobody contacted yet",
     (att("wait", 50, contacted=False), RITA), progress("reaching_out"),
     IN_PROGRESS, "reaching_out", 60, False),
    ("collecting_responses: waiting on the prospect",
     (att("wait", 50), RITA), progress(),
     IN_PROGRESS, "collecting_responses", 62, False),
    ("collecting_responses: follow-up due",
     (att("follow_up", 42), RITA), progress(),
     IN_PROGRESS, "collecting_responses", 56, False),
    ("collecting_responses: we owe a reply",
     (att("reply", 55, last_reply_at=ago(2)), RITA), progress(),
     IN_PROGRESS, "collecting_responses", 70, False),
    ("collecting_responses: one confirmed, one pending",
     (att("confirm:pending_others", 85, slot=SLOT_A, last_reply_at=ago(2)),
      att("wait", 50, key="cy@acme.com"), RITA), progress(),
     IN_PROGRESS, "collecting_responses", 76, False),
    ("getting_alternatives: rep approved, replies still missing",
     (att("wait", 30, persisted=True), RITA), progress("getting_alternatives", state_since=ago(20)),
     IN_PROGRESS, "getting_alternatives", 40, False),
    ("all_confirmed: every required attendee finalized at 95+ on one slot",
     (att("confirm:finalized", 95, slot=SLOT_A, last_reply_at=ago(2)), RITA_FINAL), progress(),
     IN_PROGRESS, "all_confirmed", 100, False),
    ("all_confirmed: optional attendee pending does not block",
     (att("confirm:finalized", 95, slot=SLOT_A), RITA_FINAL, OPTIONAL_SILENT), progress(),
     IN_PROGRESS, "all_confirmed", 95, False),
    # Waiting for decision.
    ("get_alternatives: score < 20, alternatives_proposed, persist attempted",
     (rejecting(), RITA), progress(),
     WAITING, "get_alternatives", 19, True),
    ("reschedule: alternatives gathered, rep picks",
     (rejecting(), RITA), progress("getting_alternatives", state_since=ago(20)),
     WAITING, "reschedule", 43, True),
    ("resolve_conflict: stated constraints share no slot",
     (rejecting(proposed=(SLOT_A,)),
      rejecting(40, key="cy@acme.com", proposed=(SLOT_B,), persisted=False, action="reply")),
     progress(),
     WAITING, "resolve_conflict", 33, True),
    ("recommend_cancel: critical attendee declined",
     (att("close:declined", 0), RITA), progress(),
     WAITING, "recommend_cancel", 0, True),
    ("recommend_cancel: critical attendee unresponsive",
     (att("close:unresponsive", 5), RITA), progress(),
     WAITING, "recommend_cancel", 0, True),
    ("unusual: required attendee escalated as unusual",
     (att("escalate:unusual", 25, last_reply_at=ago(2)), RITA), progress(),
     WAITING, "unusual", 50, True),
    # Complete.
    ("scheduled: booked, nothing new",
     (att("confirm:finalized", 95, slot=SLOT_A), RITA_FINAL), progress("scheduled"),
     COMPLETE, "scheduled", 100, False),
    ("cancelled: rep confirmed cancellation",
     (att("close:declined", 0), RITA), progress("cancelled"),
     COMPLETE, "cancelled", 0, False),
]
# fmt: on


@pytest.mark.parametrize(
    ("attendees", "state", "kind", "subtype", "score", "needs_rep"),
    [row[1:] for row in EVENT_ROWS],
    ids=[row[0] for row in EVENT_ROWS],
)
def test_event_rows(
    attendees: tuple[AttendeeDecision, ...],
    state: EventProgress,
    kind: str,
    subtype: str,
    score: int,
    needs_rep: bool,
) -> None:
    decision = decide_event(attendees, progress=state, now=NOW)
    assert (decision.next_action, decision.subtype, decision.score, decision.needs_rep) == (
        kind,
        subtype,
        score,
        needs_rep,
    )


# The checks each waiting-for-decision row names: when one fails, the event stays put.
NOT_YET_ROWS = [
    ("get_alternatives needs score < 20", (rejecting(score=20), RITA), "collecting_responses"),
    (
        "get_alternatives needs persist attempted",
        (rejecting(persisted=False), RITA),
        "collecting_responses",
    ),
    (
        "get_alternatives needs an alternatives_proposed action",
        (rejecting(action="reply"), RITA),
        "collecting_responses",
    ),
    (
        "resolve_conflict needs a common slot to be missing",
        (rejecting(proposed=(SLOT_A, SLOT_B)), rejecting(key="cy@acme.com", proposed=(SLOT_B,))),
        "get_alternatives",
    ),
    (
        "resolve_conflict needs persist attempted by someone",
        (
            rejecting(proposed=(SLOT_A,), persisted=False, action="reply", score=40),
            rejecting(
                key="cy@acme.com", proposed=(SLOT_B,), persisted=False, action="reply", score=40
            ),
        ),
        "collecting_responses",
    ),
    (
        "an acceptance of one offered slot is not a constraint",
        (
            att("confirm:pending_others", 85, slot=SLOT_A),
            rejecting(key="cy@acme.com", proposed=(SLOT_B,)),
        ),
        "get_alternatives",
    ),
    (
        "all_confirmed needs 95+",
        (att("confirm:finalized", 94, slot=SLOT_A), RITA_FINAL),
        "collecting_responses",
    ),
    (
        "all_confirmed needs one slot",
        (
            att("confirm:finalized", 95, slot=SLOT_A),
            att("confirm:finalized", 95, slot=SLOT_B, key="cy@acme.com"),
        ),
        "collecting_responses",
    ),
    (
        "all_confirmed needs a future slot",
        (att("confirm:finalized", 95, slot=PAST), RITA_FINAL),
        "collecting_responses",
    ),
    (
        "all_confirmed needs everyone finalized",
        (att("confirm:finalized", 95, slot=SLOT_A), RITA),
        "collecting_responses",
    ),
    (
        "a reason that sounds bad but a wait action is not a blocker (outputs, not words)",
        (replace(att("wait", 30), reason="said they might decline"), RITA),
        "collecting_responses",
    ),
]


@pytest.mark.parametrize(
    ("attendees", "subtype"), [r[1:] for r in NOT_YET_ROWS], ids=[r[0] for r in NOT_YET_ROWS]
)
def test_event_not_yet_rows(attendees: tuple[AttendeeDecision, ...], subtype: str) -> None:
    assert decide_event(attendees, progress=progress(), now=NOW).subtype == subtype


# Precedence when several rows match: the most severe wins.
PRECEDENCE_ROWS = [
    (
        "decline beats unusual",
        (att("close:declined", 0), att("escalate:unusual", 25, key="cy@acme.com")),
        "recommend_cancel",
    ),
    (
        "unusual beats get_alternatives",
        (att("escalate:unusual", 25), rejecting(key="cy@acme.com")),
        "unusual",
    ),
    (
        "conflict beats get_alternatives",
        (rejecting(proposed=(SLOT_A,)), rejecting(key="cy@acme.com", proposed=(SLOT_B,))),
        "resolve_conflict",
    ),
    (
        "a decline after booking is surfaced",
        (att("close:declined", 0), RITA_FINAL),
        "recommend_cancel",
    ),
]


@pytest.mark.parametrize(
    ("attendees", "subtype"), [r[1:] for r in PRECEDENCE_ROWS], ids=[r[0] for r in PRECEDENCE_ROWS]
)
def test_event_precedence_rows(attendees: tuple[AttendeeDecision, ...], subtype: str) -> None:
    assert decide_event(attendees, progress=progress("scheduled"), now=NOW).subtype == subtype


# Time left (window end, 21-day limit, attempts vs max 5).
STOP_ROWS = [
    ("21 days active", progress(), NOW - timedelta(days=21), "still unscheduled after 21 days"),
    ("window ended", progress(window_end=ago(1)), CREATED, "the scheduling window has ended"),
    ("5 attempts", progress(attempts=5), CREATED, "reached the maximum of 5 attempts"),
]


@pytest.mark.parametrize(
    ("state", "created", "summary"), [r[1:] for r in STOP_ROWS], ids=[r[0] for r in STOP_ROWS]
)
def test_stop_rows(state: EventProgress, created: datetime, summary: str) -> None:
    decision = decide_event(
        (att("wait", 50), RITA), progress=replace(state, created_at=created), now=NOW
    )
    assert (decision.subtype, decision.score, decision.summary, decision.needs_rep) == (
        "recommend_cancel",
        5,
        summary,
        True,
    )


def test_everyone_confirmed_is_booked_even_at_the_stop_limit() -> None:
    state = replace(progress(attempts=5), created_at=NOW - timedelta(days=30))
    decision = decide_event(
        (att("confirm:finalized", 95, slot=SLOT_A), RITA_FINAL), progress=state, now=NOW
    )
    assert decision.subtype == "all_confirmed"


# Momentum and time left move the collecting score (base: (2*50 + 85) / 3 = 61.7).
SCORE_ROWS = [
    ("no signal", progress(), None, 62),
    ("a reply in the last 48 h", progress(), ago(10), 67),
    ("quiet for a week", replace(progress(), created_at=NOW - timedelta(days=8)), None, 52),
    ("two weeks in", replace(progress(), created_at=NOW - timedelta(days=15)), ago(10), 57),
    ("window closes within 2 days", progress(window_end=NOW + timedelta(days=1)), None, 52),
    ("one attempt left", progress(attempts=4), None, 57),
]


@pytest.mark.parametrize(
    ("state", "replied", "score"), [r[1:] for r in SCORE_ROWS], ids=[r[0] for r in SCORE_ROWS]
)
def test_score_rows(state: EventProgress, replied: datetime | None, score: int) -> None:
    decision = decide_event((att("wait", 50, last_reply_at=replied), RITA), progress=state, now=NOW)
    assert (decision.subtype, decision.score) == ("collecting_responses", score)


# --- the additional data each row carries ---------------------------------------------------------


def test_all_confirmed_carries_confirmed_attendees_and_slot() -> None:
    decision = decide_event(
        (att("confirm:finalized", 95, slot=SLOT_A), RITA_FINAL), progress=progress(), now=NOW
    )
    assert (decision.attendees, decision.slot) == (("Ann", "Rita"), SLOT_A)


def test_collecting_carries_pending_attendees() -> None:
    decision = decide_event((att("wait", 50), RITA, OPTIONAL_SILENT), progress=progress(), now=NOW)
    assert decision.attendees == ("Ann", "Rita")


def test_get_alternatives_carries_attendee_score_and_reason() -> None:
    decision = decide_event((rejecting(), RITA), progress=progress(), now=NOW)
    assert (decision.attendees, decision.summary) == (
        ("Ann",),
        "Ann (15): escalate:alternatives_proposed at 15",
    )


def test_reasons_are_the_required_attendees_reasons() -> None:
    decision = decide_event((rejecting(), RITA, OPTIONAL_SILENT), progress=progress(), now=NOW)
    assert decision.reasons == (
        "Ann: escalate:alternatives_proposed at 15",
        "Rita: confirm:pending_others at 85",
    )


def test_reschedule_lists_who_can_attend_each_alternative() -> None:
    ann = rejecting(proposed=(SLOT_B, SLOT_C), last_reply_at=ago(2))
    cy = att("confirm:pending_others", 85, key="cy@acme.com", slot=SLOT_B, last_reply_at=ago(3))
    decision = decide_event(
        (ann, cy, RITA), now=NOW, progress=progress("getting_alternatives", state_since=ago(20))
    )
    assert decision.subtype == "reschedule"
    assert [(a.slot, a.attendees, a.fits_all) for a in decision.alternatives] == [
        (SLOT_B, ("Ann", "Cy", "Rita"), True),
        (SLOT_C, ("Ann", "Rita"), False),
    ]


def test_gathering_waits_for_replies_after_approval() -> None:
    stale = rejecting(last_reply_at=ago(30))  # replied before the rep approved
    decision = decide_event(
        (stale, RITA), now=NOW, progress=progress("getting_alternatives", state_since=ago(20))
    )
    assert (decision.subtype, decision.attendees) == ("getting_alternatives", ("Ann",))


def test_gathering_with_no_common_slot_is_a_conflict() -> None:
    ann = rejecting(proposed=(SLOT_A,), last_reply_at=ago(2))
    cy = rejecting(key="cy@acme.com", proposed=(SLOT_B,), last_reply_at=ago(3))
    decision = decide_event(
        (ann, cy), now=NOW, progress=progress("getting_alternatives", state_since=ago(20))
    )
    assert (decision.subtype, decision.summary) == (
        "resolve_conflict",
        "no common slot: Ann only Wed 04 Mar 15:00 UTC; Cy only Thu 05 Mar 16:00 UTC",
    )


def test_gathering_never_books_without_the_rep() -> None:
    ann = att("confirm:finalized", 95, slot=SLOT_A, last_reply_at=ago(2))
    decision = decide_event(
        (ann, RITA_FINAL), now=NOW, progress=progress("getting_alternatives", state_since=ago(20))
    )
    assert (decision.subtype, decision.needs_rep) == ("reschedule", True)


def test_recommend_cancel_and_unusual_carry_the_attendee_summary() -> None:
    cancel = decide_event((att("close:declined", 0), RITA), progress=progress(), now=NOW)
    odd = decide_event((att("escalate:unusual", 25), RITA), progress=progress(), now=NOW)
    assert (cancel.summary, odd.summary) == (
        "Ann close:declined at 0",
        "Ann: escalate:unusual at 25",
    )


# --- the principles, end to end from facts --------------------------------------------------------


def run(attendees: tuple[AttendeeFacts, ...], state: EventProgress) -> EventDecision:
    return decide_event(decide_attendees(attendees, now=NOW), progress=state, now=NOW)


def test_happy_path_needs_no_decision() -> None:
    # Principle 4: reaching_out → collecting_responses → all_confirmed → scheduled.
    fresh = (prospect(outreach=()), ORGANIZER)
    contacted = (prospect(outreach=(sent(5),)), ORGANIZER)
    accepted = (prospect(said(1, "accept", accepted_slot=SLOT_A), outreach=(sent(5),)), ORGANIZER)
    steps = [
        run(fresh, progress("reaching_out")),
        run(contacted, progress("reaching_out")),
        run(accepted, progress("collecting_responses")),
        run(accepted, progress("scheduled")),
    ]
    assert [(d.subtype, d.needs_rep) for d in steps] == [
        ("reaching_out", False),
        ("collecting_responses", False),
        ("all_confirmed", False),
        ("scheduled", False),
    ]


def test_resolve_locally_before_escalating() -> None:
    # Principle 3: the first rejection is answered by us; only a second one reaches the rep.
    first = (prospect(said(2, "counter_propose")), ORGANIZER)
    persisted = (
        prospect(said(30, "counter_propose"), outreach=(sent(100), sent(20, "reply"))),
        ORGANIZER,
    )
    again = (
        prospect(
            said(30, "counter_propose"),
            said(2, "counter_propose"),
            outreach=(sent(100), sent(20, "reply")),
        ),
        ORGANIZER,
    )
    assert [run(s, progress()).subtype for s in (first, persisted, again)] == [
        "collecting_responses",
        "collecting_responses",
        "get_alternatives",
    ]


def test_bidirectional_but_not_recursive() -> None:
    # Principle 6: once the rep acted (we wrote after the escalation) the attendee waits again,
    # and deciding twice on the same facts gives the same decision (nothing executes).
    escalated = (prospect(said(2, "confused")), ORGANIZER)
    acted = (prospect(said(30, "confused"), outreach=(sent(100), sent(20, "reply"))), ORGANIZER)
    assert run(escalated, progress()) == run(escalated, progress())
    assert [run(s, progress()).subtype for s in (escalated, acted)] == [
        "unusual",
        "collecting_responses",
    ]


def test_from_analysis_reads_an_intent_analysis() -> None:
    analysis = IntentAnalysis(
        intent="delegate",
        confidence="high",
        sentiment="positive",
        reasoning="",
        escalate=False,
        source="rules",
        delegate_name="Bob",
        delegate_email="bob@acme.com",
    )
    facts = MessageFacts.from_analysis(ago(1), analysis, proposed_slots=[SLOT_A])
    assert (facts.intent, facts.delegate, facts.proposed_slots) == (
        "delegate",
        "bob@acme.com",
        (SLOT_A,),
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_attendee(prospect(), now=NOW.replace(tzinfo=None))


def test_format_slot() -> None:
    assert format_slot(SLOT_A) == "Wed 04 Mar 15:00 UTC"


# --- properties -----------------------------------------------------------------------------------

ACTIONS = (
    "wait",
    "follow_up",
    "reply",
    "confirm:pending_others",
    "confirm:finalized",
    "escalate:alternatives_proposed",
    "escalate:unusual",
    "close:declined",
    "close:unresponsive",
)
SUBTYPES = tuple(EVENT_TYPE)
SLOTS = (PAST, SLOT_A, SLOT_B, SLOT_C)
INTENTS = (
    "accept",
    "counter_propose",
    "decline",
    "question",
    "delegate",
    "reschedule",
    "out_of_office",
    "confused",
    "unclear",
)


@st.composite
def decisions(draw: st.DrawFn, *, required: bool | None = None) -> AttendeeDecision:
    return AttendeeDecision(
        key=draw(st.sampled_from(("a@x.com", "b@x.com", "c@y.com", "d@y.com"))),
        name="",
        required=draw(st.booleans()) if required is None else required,
        score=draw(st.integers(0, 100)),
        reason="r",
        next_action=draw(st.sampled_from(ACTIONS)),  # type: ignore[arg-type]
        external=draw(st.booleans()),
        contacted=draw(st.booleans()),
        slot=draw(st.none() | st.sampled_from(SLOTS)),
        any_slot=draw(st.booleans()),
        proposed=tuple(draw(st.lists(st.sampled_from(SLOTS), max_size=2, unique=True))),
        persisted=draw(st.booleans()),
        last_reply_at=draw(st.none() | st.integers(0, 400).map(ago)),
    )


progresses = st.builds(
    EventProgress,
    created_at=st.integers(0, 30 * 24).map(ago),
    current=st.sampled_from(SUBTYPES),
    state_since=st.none() | st.integers(0, 100).map(ago),
    window_end=st.none() | st.integers(-100, 400).map(lambda h: NOW + timedelta(hours=h)),
    attempts=st.integers(0, 6),
)


@st.composite
def messages(draw: st.DrawFn) -> MessageFacts:
    return MessageFacts(
        received_at=ago(draw(st.integers(1, 300))),
        intent=draw(st.sampled_from(INTENTS)),  # type: ignore[arg-type]
        confidence=draw(st.sampled_from(("high", "medium", "low"))),  # type: ignore[arg-type]
        sentiment=draw(st.sampled_from(("positive", "neutral", "negative"))),  # type: ignore[arg-type]
        accepted_slot=draw(st.none() | st.sampled_from(SLOTS)),
        proposed_slots=tuple(draw(st.lists(st.sampled_from(SLOTS), max_size=2))),
        ooo_return=draw(st.none() | st.sampled_from((date(2026, 3, 1), date(2026, 3, 9)))),
    )


@st.composite
def attendee_facts(draw: st.DrawFn, *, key: str, required: bool) -> AttendeeFacts:
    outreach = draw(
        st.lists(
            st.builds(
                Outreach,
                sent_at=st.integers(0, 600).map(ago),
                kind=st.sampled_from(("initial", "follow_up", "reply")),
            ),
            max_size=7,
        )
    )
    return AttendeeFacts(
        key=key,
        side="external" if required else "internal",
        invite_status=draw(st.sampled_from(("needs_action", "accepted", "declined", "tentative"))),
        messages=tuple(draw(st.lists(messages(), max_size=4))),
        outreach=tuple(outreach),
    )


@settings(max_examples=300)
@given(
    st.lists(decisions(required=True), max_size=4),
    st.lists(decisions(required=False), min_size=1, max_size=3),
    progresses,
)
def test_optional_attendees_never_change_the_event(
    required: list[AttendeeDecision], optional: list[AttendeeDecision], state: EventProgress
) -> None:
    mixed = [*optional[:1], *required, *optional[1:]]
    assert decide_event(mixed, progress=state, now=NOW) == decide_event(
        required, progress=state, now=NOW
    )


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 99), min_size=1, max_size=3).flatmap(
        lambda ids: st.tuples(
            *(attendee_facts(key=f"p{i}@acme.com", required=True) for i in range(len(ids)))
        )
    ),
    st.lists(st.integers(0, 99), min_size=1, max_size=2).flatmap(
        lambda ids: st.tuples(
            *(attendee_facts(key=f"o{i}@convene.io", required=False) for i in range(len(ids)))
        )
    ),
    st.sampled_from((None, SLOT_A)),
)
def test_optional_facts_never_change_required_decisions(
    required: tuple[AttendeeFacts, ...],
    optional: tuple[AttendeeFacts, ...],
    invited: datetime | None,
) -> None:
    alone = decide_attendees(required, now=NOW, invited_slot=invited)
    mixed = decide_attendees((*required, *optional), now=NOW, invited_slot=invited)
    assert mixed[: len(required)] == alone


def confirmedness(decision: EventDecision) -> int:
    if decision.subtype in ("all_confirmed", "scheduled"):
        return 2
    return 1 if decision.next_action == "coordination_in_progress" else 0


@settings(max_examples=300)
@given(
    st.lists(st.integers(0, 99), min_size=1, max_size=3).flatmap(
        lambda ids: st.tuples(
            *(attendee_facts(key=f"p{i}@acme.com", required=True) for i in range(len(ids)))
        )
    ),
    st.data(),
    progresses,
)
def test_a_required_decline_never_makes_the_event_more_confirmed(
    attendees: tuple[AttendeeFacts, ...],
    data: st.DataObject,
    state: EventProgress,
) -> None:
    before = run(attendees, state)
    index = data.draw(st.integers(0, len(attendees) - 1))
    target = attendees[index]
    declined = replace(target, messages=(*target.messages, said(0.5, "decline")))
    after = run((*attendees[:index], declined, *attendees[index + 1 :]), state)
    assert confirmedness(after) <= confirmedness(before)
    assert after.score <= before.score


@settings(max_examples=300)
@given(st.lists(decisions(required=True), min_size=1, max_size=4, unique_by=lambda a: a.key))
def test_conservative_when_nothing_blocks(required: list[AttendeeDecision]) -> None:
    # "Nothing blocks" means no blocking next action and no conflicting constraints: times
    # people proposed themselves are constraints (seed 003's resolve_conflict reads them).
    calm = [
        replace(
            a,
            next_action="wait" if a.next_action not in NON_BLOCKING_ACTIONS else a.next_action,
            proposed=(),
        )
        for a in required
    ]
    decision = decide_event(calm, progress=progress(), now=NOW)
    assert decision.subtype in ("collecting_responses", "reaching_out")
    assert not decision.needs_rep


@settings(max_examples=300)
@given(st.lists(decisions(), max_size=5), progresses)
def test_event_outputs_are_well_formed(
    attendees: list[AttendeeDecision], state: EventProgress
) -> None:
    decision = decide_event(attendees, progress=state, now=NOW)
    assert 0 <= decision.score <= 100
    assert decision.next_action == EVENT_TYPE[decision.subtype]
    assert decision.needs_rep == (decision.next_action == "waiting_for_decision")
    # Only a confirmed (or booked) event scores 95+.
    assert (decision.score >= 95) == (decision.subtype in ("all_confirmed", "scheduled"))


@settings(max_examples=300)
@given(attendee_facts(key="p@acme.com", required=True))
def test_attendee_outputs_are_well_formed(facts: AttendeeFacts) -> None:
    decision = decide_attendee(facts, now=NOW)
    assert 0 <= decision.score <= 100
    assert decision.next_action in ACTIONS
    assert "\n" not in decision.reason and decision.reason
    if decision.next_action == "escalate:alternatives_proposed":
        assert decision.score < 20 and decision.persisted
    if decision.next_action.startswith("close:"):
        assert decision.score <= 5
