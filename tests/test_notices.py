"""Notices Convene volunteers (a stopped sequence, a bounce, an expired draft) respect the rep's
quiet hours and hourly cap, are never sent twice in a day, and are never lost: a held or failed
notice is posted by the clock later. Runs on both backends against the local Slack API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col

from db.models import Rep, SlackNotification
from orchestrator.notices.post import post_notice, release_time
from orchestrator.timers.tick import tick
from tests.support.stack import Stack
from tests.test_morning_brief import add_rep


def _dms(stack: Stack, rep: Rep) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == f"D{rep.slack_user_id}"]


def _move_to(stack: Stack, moment: datetime) -> None:
    stack.clock.advance(moment - stack.clock.now())


def test_a_notice_in_quiet_hours_waits_for_their_end_then_goes_once(stack: Stack) -> None:
    _move_to(stack, datetime(2026, 12, 2, 4, 0, tzinfo=UTC))  # 23:00 in New York
    rep = add_rep(stack, "U0NY", "America/New_York", quiet=("22:00", "07:30"))

    assert (
        post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-1: follow-ups stopped") == "held"
    )
    assert _dms(stack, rep) == []
    (row,) = stack.rows(SlackNotification, col(SlackNotification.rep_id) == rep.id)
    assert row.held_until == datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # 07:30 New York

    _move_to(stack, datetime(2026, 12, 2, 12, 29, tzinfo=UTC))
    assert tick(stack.deps).notices == 0
    _move_to(stack, datetime(2026, 12, 2, 12, 30, tzinfo=UTC))
    assert tick(stack.deps).notices == 1
    assert tick(stack.deps).notices == 0
    assert _dms(stack, rep) == ["ACME-1: follow-ups stopped"]


def test_the_same_notice_twice_in_a_day_is_posted_once(stack: Stack) -> None:
    rep = add_rep(stack, "U0DUP", "Europe/Berlin")
    first = post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-2: the draft expired")
    again = post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-2: the draft expired")
    other = post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-3: the draft expired")
    assert (first, again, other) == ("posted", "duplicate", "posted")
    assert _dms(stack, rep) == ["ACME-2: the draft expired", "ACME-3: the draft expired"]
    stack.clock.advance(timedelta(days=1))
    assert (
        post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-2: the draft expired") == "posted"
    )


def test_past_the_hourly_cap_notices_wait_for_room(stack: Stack) -> None:
    rep = add_rep(stack, "U0CAP", "Europe/London")
    cap = stack.deps.settings.dm_per_hour_cap
    outcomes = [
        post_notice(stack.deps.notices, rep_id=rep.id, text=f"notice {n}") for n in range(cap + 2)
    ]
    assert outcomes == ["posted"] * cap + ["held", "held"]
    assert len(_dms(stack, rep)) == cap

    stack.clock.advance(timedelta(minutes=30))
    tick(stack.deps)
    assert len(_dms(stack, rep)) == cap  # the hour is still full
    stack.clock.advance(timedelta(minutes=31))
    assert tick(stack.deps).notices == 2
    assert _dms(stack, rep)[-2:] == [f"notice {cap}", f"notice {cap + 1}"]


def test_a_notice_slack_refused_is_posted_by_the_clock_later(stack: Stack) -> None:
    rep = add_rep(stack, "U0FAIL", "UTC")
    # More 429s than the client's Retry-After retries absorb: the post fails for now.
    stack.slack.rate_limited_calls = 3
    assert post_notice(stack.deps.notices, rep_id=rep.id, text="ACME-4 bounced") == "held"
    assert _dms(stack, rep) == []
    stack.clock.advance(timedelta(minutes=5))
    assert tick(stack.deps).notices == 1
    assert _dms(stack, rep) == ["ACME-4 bounced"]


def test_release_is_the_end_of_quiet_hours_in_the_reps_zone_across_dst() -> None:
    rep = Rep(
        org_id="T",
        slack_user_id="U",
        email="u@x.example",
        timezone="America/New_York",
        quiet_hours_start="21:00",
        quiet_hours_end="08:00",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    # Saturday Mar 7 22:00 EST; clocks spring forward overnight, so 08:00 is EDT (12:00 UTC).
    night = datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    assert release_time(rep, night) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
