"""Seed 000's scheduler figures (`orchestrator.commands.stats`) from a seeded set of requests,
against numbers worked out by hand; then `/schedule stats` through a signed slash command and
the Home tab's section. Both backends: the figures are SQL aggregates."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from bot.local_slack import block_errors
from bot.stats_blocks import column
from db.models import (
    ActionStatus,
    ActionType,
    PendingAction,
    Rep,
    RequestOutcome,
    RequestStatus,
    SchedulingRequest,
)
from orchestrator.commands.stats import figures, stats_in
from orchestrator.views import Figures
from tests.support.stack import OTHER_ID, REP_ID, Stack

E = ActionType
S = ActionStatus
_keys = itertools.count()


@dataclass
class Draft:
    kind: ActionType
    status: ActionStatus = S.executed
    at_day: float = 0.0  # executed this many days after the request was created
    edited: bool = False


@dataclass
class Seeded:
    rep: str  # "a", "b" or "elsewhere" (another Slack workspace)
    ref: str
    age_days: float  # created this long before now
    status: RequestStatus
    outcome: str | None = None
    no_shows: int = 0
    drafts: list[Draft] = field(default_factory=list)


def sent(*kinds_and_days: tuple[ActionType, float], edited: int | None = None) -> list[Draft]:
    return [
        Draft(kind, at_day=day, edited=n == edited) for n, (kind, day) in enumerate(kinds_and_days)
    ]


FIRST_EMAIL = [Draft(E.email_initial)]
# Rep A: five requests in the last 30 days (A5 is older), rep B: three; one in another workspace.
REQUESTS = [
    # Held after a no-show: booked at day 2 (two emails before it), rebooked at day 5.
    Seeded(
        "a",
        "A-1",
        20,
        RequestStatus.completed,
        RequestOutcome.held,
        no_shows=1,
        drafts=[
            *sent(
                (E.email_initial, 0.1),
                (E.email_follow_up, 1),
                (E.calendar_book, 2),
                (E.email_confirmation, 2.1),
                (E.email_no_show, 4),
                (E.calendar_book, 5),
                edited=1,
            ),
            Draft(E.email_follow_up, S.rejected, edited=True),  # not approved
            Draft(E.email_follow_up, S.cancelled, at_day=1.5, edited=True),  # undone
        ],
    ),
    # Booked at day 4 after four emails, then they called it off.
    Seeded(
        "a",
        "A-2",
        10,
        RequestStatus.cancelled,
        RequestOutcome.cancelled_by_them,
        drafts=sent(
            (E.email_initial, 0),
            (E.email_follow_up, 1),
            (E.email_follow_up, 2),
            (E.email_response, 3),
            (E.calendar_book, 4),
            edited=3,
        ),
    ),
    # Cancelled before the vocabulary: the rep's cancel.
    Seeded("a", "A-3", 5, RequestStatus.cancelled, "cancelled", drafts=FIRST_EMAIL),
    # Still open; its first email was edited; a follow-up waits.
    Seeded(
        "a",
        "A-4",
        3,
        RequestStatus.awaiting_response,
        drafts=[Draft(E.email_initial, edited=True), Draft(E.email_follow_up, S.pending)],
    ),
    # Too old for the period.
    Seeded(
        "a",
        "A-5",
        40,
        RequestStatus.completed,
        RequestOutcome.held,
        drafts=sent((E.email_initial, 0), (E.calendar_book, 1), edited=0),
    ),
    Seeded(
        "a",
        "A-6",
        2,
        RequestStatus.paused,
        RequestOutcome.gave_up,
        drafts=sent((E.email_initial, 0)),
    ),
    # Rep B.
    Seeded(
        "b",
        "B-1",
        15,
        RequestStatus.completed,
        RequestOutcome.held,
        drafts=sent((E.email_initial, 0), (E.calendar_book, 1), edited=0),
    ),
    Seeded(
        "b",
        "B-2",
        7,
        RequestStatus.cancelled,
        RequestOutcome.declined,
        drafts=sent((E.email_initial, 0)),
    ),
    # Missed the meeting booked at day 0.6; a failed email before the booking is not a sent one.
    Seeded(
        "b",
        "B-3",
        1,
        RequestStatus.no_show,
        RequestOutcome.no_show,
        no_shows=1,
        drafts=[
            *sent((E.email_initial, 0), (E.calendar_book, 0.6)),
            Draft(E.email_follow_up, S.failed, at_day=0.2),
        ],
    ),
    Seeded(
        "elsewhere",
        "X-1",
        1,
        RequestStatus.completed,
        RequestOutcome.held,
        drafts=sent((E.email_initial, 0), (E.calendar_book, 0.5)),
    ),
]

# Worked out by hand from the rows above.
REP_A = Figures(
    started=5,
    booked=2,
    held=1,
    finished=4,  # all but A-4
    cancelled_by_rep=1,  # A-3's "cancelled"
    cancelled_by_them=1,
    declined=0,
    gave_up=1,
    emails_before_booking=6,  # 2, A-2: 4
    days_to_book=(2.0, 4.0),
    no_shows=1,
    meetings_ended=2,  # A-1's missed meeting and its held one
    approved=14,  # 6, A-2: 5, A-3, A-4, A-6: 1 each
    edited=3,  # A-1's first follow-up, A-2's response, A-4's first email
)
TEAM = Figures(
    started=8,
    booked=4,
    held=2,
    finished=6,  # B-3 is still open
    cancelled_by_rep=1,
    cancelled_by_them=1,
    declined=1,
    gave_up=1,
    emails_before_booking=8,  # + B-1: 1, B-3: 1
    days_to_book=(2.0, 4.0, 1.0, 0.6),
    no_shows=2,
    meetings_ended=4,
    approved=20,  # + B-1: 2, B-2: 1, B-3: 3 (the failed one was approved)
    edited=4,
)


def seed(stack: Stack) -> dict[str, Rep]:
    now = stack.clock.now()
    team = stack.slack.team_id
    reps = {
        "a": Rep(org_id=team, slack_user_id=REP_ID, email="a@n.example", created_at=now),
        "b": Rep(org_id=team, slack_user_id=OTHER_ID, email="b@n.example", created_at=now),
        "elsewhere": Rep(
            org_id="T0ELSE", slack_user_id=REP_ID, email="a@n.example", created_at=now
        ),
    }
    with stack.deps.uow() as uow:
        uow.session.add_all(reps.values())
        uow.session.flush()
        for seeded in REQUESTS:
            rep = reps[seeded.rep]
            created = now - timedelta(days=seeded.age_days)
            request = SchedulingRequest(
                org_id=rep.org_id,
                rep_id=rep.id,
                ref=seeded.ref,
                status=seeded.status,
                outcome=seeded.outcome,
                no_show_count=seeded.no_shows,
                created_at=created,
                updated_at=created,
            )
            uow.session.add(request)
            uow.session.flush()
            for draft in seeded.drafts:
                moment = created + timedelta(days=draft.at_day)
                uow.session.add(
                    PendingAction(
                        org_id=rep.org_id,
                        rep_id=rep.id,
                        request_id=request.id,
                        action_type=draft.kind,
                        status=draft.status,
                        edited_data={"body": "edited"} if draft.edited else None,
                        idempotency_key=f"seeded-{next(_keys)}",
                        executed_at=moment if draft.status == S.executed else None,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
        uow.commit()
    return reps


def read(stack: Stack, **where: Any) -> Figures:
    now = stack.clock.now()
    with stack.deps.uow() as uow:
        return figures(uow.session, since=now - timedelta(days=30), until=now, **where)


def same(found: Figures, expected: Figures) -> None:
    """Equal, with the days compared as a set of numbers (rows come back in any order)."""
    assert sorted(found.days_to_book) == pytest.approx(sorted(expected.days_to_book))
    assert {**vars(found), "days_to_book": ()} == {**vars(expected), "days_to_book": ()}


def test_the_figures_of_a_rep_and_of_the_team(stack: Stack) -> None:
    reps = seed(stack)
    you = read(stack, org_id=stack.slack.team_id, rep_id=reps["a"].id)
    team = read(stack, org_id=stack.slack.team_id)
    same(you, REP_A)
    same(team, TEAM)

    assert you.success_rate == pytest.approx(1 / 4)
    assert you.attempts_per_booking == pytest.approx(3.0)
    assert you.mean_days_to_book == pytest.approx(3.0)
    assert you.median_days_to_book == pytest.approx(3.0)
    assert you.no_show_rate == pytest.approx(0.5)
    assert you.edit_rate == pytest.approx(3 / 14)

    assert team.success_rate == pytest.approx(2 / 6)
    assert team.attempts_per_booking == pytest.approx(2.0)
    assert team.mean_days_to_book == pytest.approx(1.9)
    assert team.median_days_to_book == pytest.approx(1.5)
    assert team.no_show_rate == pytest.approx(0.5)
    assert team.edit_rate == pytest.approx(0.2)


def test_nothing_to_count_is_no_figure_not_zero(stack: Stack) -> None:
    reps = seed(stack)
    with stack.deps.uow() as uow:
        # A workspace with nothing in it, and a rep of it who has started nothing.
        empty = stats_in(uow.session, org_id="T0EMPTY", rep_id=None, now=stack.clock.now())
        idle = figures(
            uow.session,
            org_id=stack.slack.team_id,
            rep_id=reps["elsewhere"].id,
            since=stack.clock.now() - timedelta(days=30),
            until=stack.clock.now(),
        )
    for f in (empty.you, empty.team, idle):
        assert f == Figures()
        assert f.success_rate is None and f.attempts_per_booking is None
        assert f.mean_days_to_book is None and f.median_days_to_book is None
        assert f.no_show_rate is None and f.edit_rate is None
    assert "Success rate: —\n" in column("You", empty.you)
    assert "Days to book: — avg · — median" in column("You", empty.you)


def _stats_reply(stack: Stack, user: str = REP_ID) -> dict[str, Any]:
    reply = stack.command("stats", user=user)
    assert reply.status == 200
    body: dict[str, Any] = json.loads(reply.body)  # answered in the ack
    assert body["response_type"] == "ephemeral"
    assert block_errors(body["blocks"]) == []
    return body


def _columns(blocks: list[dict[str, Any]]) -> list[str]:
    (side_by_side,) = [b for b in blocks if "fields" in b]
    return [f["text"] for f in side_by_side["fields"]]


def test_schedule_stats_shows_you_beside_the_team(stack: Stack) -> None:
    seed(stack)
    body = _stats_reply(stack)
    you, team = _columns(body["blocks"])
    assert you == (
        "*You*\n"
        "Started: 5 · booked: 2 · held: 1\n"
        "Success rate: 25% (1 of 4 finished)\n"
        "Emails per booking: 3.0\n"
        "Days to book: 3.0 avg · 3.0 median\n"
        "No-show rate: 50%\n"
        "Drafts edited: 21%\n"
        "Cancelled by them: 1 · declined: 0\n"
        "Gave up: 1 · cancelled by the rep: 1"
    )
    assert team == (
        "*Team*\n"
        "Started: 8 · booked: 4 · held: 2\n"
        "Success rate: 33% (2 of 6 finished)\n"
        "Emails per booking: 2.0\n"
        "Days to book: 1.9 avg · 1.5 median\n"
        "No-show rate: 50%\n"
        "Drafts edited: 20%\n"
        "Cancelled by them: 1 · declined: 1\n"
        "Gave up: 1 · cancelled by the rep: 1"
    )
    assert body["text"].startswith("Last 30 days: you started 5 requests (success rate 25%)")
    # The other rep sees their own figures beside the same team's.
    theirs, same_team = _columns(_stats_reply(stack, OTHER_ID)["blocks"])
    assert theirs.startswith("*You*\nStarted: 3 · booked: 2 · held: 1\nSuccess rate: 50% (1 of 2")
    assert same_team == team


def test_schedule_stats_before_anything_was_started(stack: Stack) -> None:
    you, team = _columns(_stats_reply(stack)["blocks"])
    for text in (you, team):
        assert "Started: 0 · booked: 0 · held: 0\nSuccess rate: —\n" in text
        assert "No-show rate: —\nDrafts edited: —" in text


def test_help_names_stats(stack: Stack) -> None:
    assert "`/schedule stats`" in stack.command("help").body


def test_the_home_tab_ends_with_the_figures(stack: Stack) -> None:
    seed(stack)
    view = stack.open_home()
    assert block_errors(view["blocks"], surface="home") == []
    header, figures_block = view["blocks"][-2:]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Requests started in the last 30 days"},
    }
    you, team = (f["text"] for f in figures_block["fields"])
    assert "Success rate: 25% (1 of 4 finished)" in you
    assert "Success rate: 33% (2 of 6 finished)" in team
