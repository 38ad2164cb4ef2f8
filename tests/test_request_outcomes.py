"""Every way a request ends records why, in the outcome vocabulary (`db.models.RequestOutcome`),
driven end to end: the rep's `/schedule cancel`, a decline closed from its card, an invite
declined after booking and closed from its card, the follow-up stop rule, and resume. The
meeting-check answers (held, no-show, the third no-show) are checked where that flow is driven,
in tests/test_meeting_lifecycle.py. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.models import ENDING_OUTCOMES, RequestOutcome, SchedulingTemplate
from orchestrator.commands.stats import figures
from tests.support.conversation.expectations import (
    expect_decision_card,
    expect_dm,
    expect_status,
)
from tests.support.conversation.outside import hours_pass
from tests.support.conversation.prospect_mail import (
    prospect_answers_the_invite,
    prospect_replies,
)
from tests.support.conversation.rep_slack import rep_cancels, rep_decides, rep_runs
from tests.support.conversation.script import Conversation, Turn, conversation, play
from tests.support.conversation.times import Offered
from tests.support.conversation.world import World
from tests.support.stack import Stack
from tests.test_conversations import booked_and_confirmed, first_email_sent, follow_up_sent


def expect_outcome(outcome: RequestOutcome | None) -> Turn:
    """The request records `outcome`, and the figures count it there (an ending one)."""

    def run(w: World) -> None:
        request = w.request()
        assert request.outcome == outcome, request.outcome
        if outcome not in ENDING_OUTCOMES:
            return
        with w.stack.deps.uow() as uow:
            counted = figures(
                uow.session,
                org_id=request.org_id,
                since=request.created_at - timedelta(seconds=1),
                until=w.stack.clock.now(),
            )
        assert counted.finished == 1
        assert getattr(counted, outcome.value) == 1, counted

    return Turn(f"the request's outcome is {outcome}", run)


def two_emails_is_the_limit() -> Turn:
    """The demo's meeting type stops chasing after two unanswered emails (a shorter script)."""

    def run(w: World) -> None:
        with w.stack.deps.uow() as uow:
            uow.session.add(
                SchedulingTemplate(
                    org_id=w.stack.slack.team_id, meeting_type="demo", max_attempts=2
                )
            )
            uow.commit()

    return Turn("the team's demo template allows two emails", run)


ENDINGS = [
    conversation(
        "the rep cancels before any reply: cancelled by the rep",
        *first_email_sent(),
        expect_outcome(None),
        rep_cancels(),
        expect_status("cancelled"),
        expect_outcome(RequestOutcome.cancelled_by_rep),
    ),
    conversation(
        "a decline closed from its card: declined",
        *first_email_sent(),
        prospect_replies("We've decided to go with another vendor, so no need to meet."),
        expect_decision_card("recommends closing"),
        expect_outcome(None),  # nothing has ended until the rep decides
        rep_decides("cancel_request"),
        expect_status("cancelled"),
        expect_outcome(RequestOutcome.declined),
    ),
    conversation(
        "a decline whose negative tone stops the follow-ups, then closed: declined",
        *first_email_sent(),
        prospect_replies("Thanks, but we're not interested. Please take us off your list."),
        expect_decision_card("recommends closing"),
        hours_pass(24),
        expect_status("paused"),
        expect_outcome(None),  # a negative reply is no verdict of Convene's: the card decides
        rep_decides("cancel_request"),
        expect_outcome(RequestOutcome.declined),
    ),
    conversation(
        "the invite declined after booking, closed from its card: cancelled by them",
        *first_email_sent(),
        prospect_replies("Tuesday works for me."),
        *booked_and_confirmed(Offered(2)),
        prospect_answers_the_invite("DECLINED", comment="Something came up, sorry."),
        expect_decision_card("They declined the meeting invite"),
        rep_decides("cancel_request"),
        expect_status("cancelled"),
        expect_outcome(RequestOutcome.cancelled_by_them),
    ),
    conversation(
        "emails unanswered to the limit: gave up; closing it after keeps gave up",
        two_emails_is_the_limit(),
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),
        hours_pass(48),
        expect_status("paused"),
        expect_dm("stopped following up", "2 emails have gone unanswered"),
        expect_outcome(RequestOutcome.gave_up),
        rep_cancels(),
        expect_status("cancelled"),
        expect_outcome(RequestOutcome.gave_up),
    ),
    conversation(
        "resumed after the stop rule: open again, and a cancel then is the rep's",
        two_emails_is_the_limit(),
        *first_email_sent(),
        *follow_up_sent(2, after_hours=24),
        hours_pass(48),
        expect_outcome(RequestOutcome.gave_up),
        rep_runs("resume", answer="Resumed ACME-1"),
        expect_outcome(None),
        rep_cancels(),
        expect_outcome(RequestOutcome.cancelled_by_rep),
    ),
]


@pytest.mark.parametrize("script", ENDINGS, ids=str)
def test_every_ending_records_its_outcome(script: Conversation, stack: Stack) -> None:
    play(script, stack)


def test_older_cancelled_rows_read_as_the_reps_cancel() -> None:
    assert RequestOutcome.read("cancelled") == RequestOutcome.cancelled_by_rep
    assert RequestOutcome.read("held") == RequestOutcome.held
    assert RequestOutcome.read("something_else") is None
    assert RequestOutcome.cancelled_by_rep.spellings() == ["cancelled_by_rep", "cancelled"]
