"""compose_brief: pure content of the morning brief, from plain rows and a given `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skills.compose_brief import (
    ActionInfo,
    AtRisk,
    AttentionItem,
    MeetingLine,
    RequestInfo,
    compose_brief,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NOW = at("2026-03-08T15:00")  # 08:00 PDT on the day US clocks sprang forward


def request(ref: str, status: str = "awaiting_response", **kw: object) -> RequestInfo:
    fields: dict[str, object] = {
        "ref": ref,
        "title": f"Demo {ref}",
        "status": status,
        "unanswered": 1,
        "created_at": NOW - timedelta(days=2),
        **kw,
    }
    return RequestInfo(**fields)  # type: ignore[arg-type]


def test_nothing_to_say_is_no_brief() -> None:
    quiet = [request("A-1"), request("A-2", "negotiating"), request("A-3", "completed")]
    assert (
        compose_brief(rep_name="Rita", timezone="UTC", now=NOW, requests=quiet, actions=[]) is None
    )
    assert compose_brief(rep_name="Rita", timezone="UTC", now=NOW, requests=[], actions=[]) is None


def test_todays_meetings_are_the_booked_ones_on_the_reps_local_date() -> None:
    requests = [
        request("A-1", "confirmed", meeting_start=at("2026-03-08T17:00"), prospect="Jo"),
        request("A-2", "reminder_sent", meeting_start=at("2026-03-08T16:00")),
        # 23:30 PDT today still counts; 00:30 PDT tomorrow does not.
        request("A-3", "confirmed", meeting_start=at("2026-03-09T06:30")),
        request("A-4", "confirmed", meeting_start=at("2026-03-09T07:30")),
        request("A-5", "awaiting_response", meeting_start=at("2026-03-08T18:00")),
    ]
    brief = compose_brief(
        rep_name="Rita Moreno",
        timezone="America/Los_Angeles",
        now=NOW,
        requests=requests,
        actions=[],
    )
    assert brief is not None
    assert brief.greeting == "Good morning, Rita. Here's your Sunday."
    assert brief.day.isoformat() == "2026-03-08"
    assert brief.meetings == (
        MeetingLine(
            ref="A-2", title="Demo A-2", start=at("2026-03-08T16:00"), end=None, prospect=""
        ),
        MeetingLine(
            ref="A-1", title="Demo A-1", start=at("2026-03-08T17:00"), end=None, prospect="Jo"
        ),
        MeetingLine(
            ref="A-3", title="Demo A-3", start=at("2026-03-09T06:30"), end=None, prospect=""
        ),
    )
    assert brief.attention == () and brief.at_risk == ()
    assert brief.pulse == (("waiting for a reply", 1), ("booked", 4))


def test_the_day_is_the_reps_not_utcs() -> None:
    # 02:00 UTC Monday is still Sunday evening in Los Angeles, and already Monday in Kolkata.
    now = at("2026-03-09T02:00")
    rows = [request("A-1", "paused")]
    la = compose_brief(
        rep_name="Rita", timezone="America/Los_Angeles", now=now, requests=rows, actions=[]
    )
    kolkata = compose_brief(
        rep_name="Rita", timezone="Asia/Kolkata", now=now, requests=rows, actions=[]
    )
    assert la is not None and kolkata is not None
    assert (la.greeting, la.day.isoformat()) == (
        "Good morning, Rita. Here's your Sunday.",
        "2026-03-08",
    )
    assert (kolkata.greeting, kolkata.day.isoformat()) == (
        "Good morning, Rita. Here's your Monday.",
        "2026-03-09",
    )


def test_needs_attention_lists_drafts_failures_pauses_and_no_shows() -> None:
    actions = [
        ActionInfo(
            action_id="a1",
            ref="A-1",
            title="Follow-up email",
            status="pending",
            to=("jo@x.example",),
        ),
        ActionInfo(
            action_id="a2",
            ref="A-2",
            title="First scheduling email",
            status="failed",
            error="mailbox full",
        ),
        ActionInfo(action_id="a3", ref="A-3", title="Reminder email", status="executed"),
    ]
    requests = [
        request("A-4", "paused", paused_reason="5 emails have gone unanswered"),
        request("A-5", "paused"),
        request("A-6", "no_show"),
    ]
    brief = compose_brief(rep_name="", timezone="UTC", now=NOW, requests=requests, actions=actions)
    assert brief is not None
    assert brief.greeting == "Your Sunday."
    assert brief.attention == (
        AttentionItem(
            kind="approval",
            ref="A-1",
            text="Follow-up email to jo@x.example is waiting for your approval",
            action_id="a1",
        ),
        AttentionItem(
            kind="failed_send",
            ref="A-2",
            text="First scheduling email to the prospect failed to send: mailbox full",
            action_id="a2",
        ),
        AttentionItem(
            kind="paused", ref="A-4", text="Demo A-4 is paused: 5 emails have gone unanswered"
        ),
        AttentionItem(kind="paused", ref="A-5", text="Demo A-5 is paused"),
        AttentionItem(
            kind="no_show", ref="A-6", text="Demo A-6: they missed the meeting; decide what's next"
        ),
    )
    assert brief.pulse == (("paused", 2), ("no-show", 1))


def test_needs_attention_lists_decisions_and_meetings_nobody_reported_on() -> None:
    requests = [
        request("D-1", "negotiating", decision="recommend_cancel", request_id="r-1"),
        request("D-2", "negotiating", decision="collecting_responses"),  # not waiting on the rep
        request(
            "D-3",
            "confirmed",
            meeting_start=NOW - timedelta(hours=2),
            meeting_end=NOW - timedelta(hours=1),
            request_id="r-3",
        ),
        request(
            "D-4",
            "confirmed",
            meeting_start=NOW + timedelta(hours=1),
            meeting_end=NOW + timedelta(hours=2),
        ),
    ]
    brief = compose_brief(rep_name="Rita", timezone="UTC", now=NOW, requests=requests, actions=[])
    assert brief is not None
    assert [(item.kind, item.ref) for item in brief.attention] == [
        ("decision", "D-1"),
        ("meeting_check", "D-3"),
    ]
    assert "recommends closing" in brief.attention[0].text
    # What their buttons act on: the request, and for a meeting check the meeting asked about.
    assert brief.attention == (
        AttentionItem(
            kind="decision",
            ref="D-1",
            text="Demo D-1: Convene recommends closing it",
            request_id="r-1",
        ),
        AttentionItem(
            kind="meeting_check",
            ref="D-3",
            text="Demo D-3: did the meeting happen?",
            request_id="r-3",
            meeting_start=NOW - timedelta(hours=2),
        ),
    )


def test_at_risk_is_close_to_the_stop_rules() -> None:
    requests = [
        request("A-1", unanswered=4),
        request("A-2", "negotiating", created_at=NOW - timedelta(days=16)),
        request("A-3", unanswered=3, created_at=NOW - timedelta(days=15, hours=23)),
        request("A-4", "confirmed", unanswered=4, created_at=NOW - timedelta(days=20)),
        request("A-5", "paused", unanswered=5),
    ]
    brief = compose_brief(rep_name="Rita", timezone="UTC", now=NOW, requests=requests, actions=[])
    assert brief is not None
    assert brief.at_risk == (
        AtRisk(ref="A-1", title="Demo A-1", reason="4 of 5 emails unanswered"),
        AtRisk(ref="A-2", title="Demo A-2", reason="open 16 days; Convene stops at 21"),
    )
    assert brief.pulse == (
        ("waiting for a reply", 2),
        ("in negotiation", 1),
        ("booked", 1),
        ("paused", 1),
    )


def test_template_limits_move_the_at_risk_line() -> None:
    rows = [request("A-1", unanswered=4)]
    assert (
        compose_brief(
            rep_name="Rita", timezone="UTC", now=NOW, requests=rows, actions=[], max_attempts=8
        )
        is None
    )
    brief = compose_brief(
        rep_name="Rita", timezone="UTC", now=NOW, requests=rows, actions=[], max_attempts=5
    )
    assert brief is not None and [r.ref for r in brief.at_risk] == ["A-1"]
