"""A request nothing would move on its own becomes a decision card for the rep within the hour,
once; the rep's choice moves it again."""

from __future__ import annotations

import pytest

from db.models import SchedulingAction
from orchestrator.timers.stalled import escalate_stalled
from tests.support.conversation.expectations import (
    expect_audit,
    expect_decision_card,
    expect_email,
    expect_every_open_request_watched,
    expect_follow_up_in,
    expect_nothing_stuck,
    expect_status,
)
from tests.support.conversation.outside import hours_pass
from tests.support.conversation.prospect_mail import prospect_replies
from tests.support.conversation.rep_slack import rep_approves, rep_decides, rep_schedules
from tests.support.conversation.script import Conversation, Turn, conversation, play
from tests.support.conversation.world import PROSPECT, World
from tests.support.stack import Stack

# Read as a hand-over to someone with no address: nothing is drafted, and the next follow-up is
# skipped because they replied; after it, before this, nothing was scheduled at all.
HANDED_BACK = "Sam, could you check my calendar and book me in if I am free?"


def asked(*, times: int) -> Turn:
    def run(w: World) -> None:
        rows = [a for a in w.stack.rows(SchedulingAction) if a.action_type == "stall_escalated"]
        assert len(rows) == times, rows

    return Turn(f"expect the rep asked about a stall {times} time(s)", run)


def stalled_first() -> list[Turn]:
    return [
        rep_schedules(f"demo with {PROSPECT} next week 45m"),
        rep_approves("email_initial"),
        expect_email(number=1, offers=True),
        prospect_replies(HANDED_BACK),
        hours_pass(24),  # the follow-up comes due and is skipped: they replied
        hours_pass(0.5),
        asked(times=0),  # not at once: a step between two others is not stalled
        hours_pass(1),
        expect_decision_card("Nothing is moving this request", "Keep it open", "Offer fresh times"),
        expect_audit("reply_received", "stall_escalated"),
        expect_nothing_stuck(),
    ]


def asked_once() -> Turn:
    def run(w: World) -> None:
        assert escalate_stalled(w.stack.deps) == 0  # waiting on the rep now: not asked again
        rows = [a for a in w.stack.rows(SchedulingAction) if a.action_type == "stall_escalated"]
        assert len(rows) == 1

    return Turn("expect the rep asked once", run)


CONVERSATIONS = [
    conversation(
        "a reply that leaves nothing scheduled: the rep is asked, and Keep it open chases again",
        *stalled_first(),
        asked_once(),
        rep_decides("keep_open"),
        expect_follow_up_in(24),
        expect_nothing_stuck(),
    ),
    conversation(
        "a stalled request, and the rep offers new times",
        *stalled_first(),
        rep_decides("offer_times"),
        rep_approves("email_response"),
        expect_email(number=2, answers="their reply", offers=True),
        expect_status("negotiating"),
        expect_nothing_stuck(),
    ),
]


@pytest.mark.parametrize("script", CONVERSATIONS, ids=str)
def test_stalled(script: Conversation, stack: Stack) -> None:
    play(script, stack)
    play(conversation(f"{script.name}, afterwards", expect_every_open_request_watched()), stack)
