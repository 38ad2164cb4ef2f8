"""A request's negotiation state read and changed in one place (orchestrator.negotiation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from db.engine import make_engine
from db.models import ActionStatus, ActionType, PendingAction, Rep, RequestStatus, SchedulingRequest
from orchestrator import negotiation
from orchestrator.engine.outputs import OfferedSlot

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TUE = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
WED = datetime(2026, 12, 9, 16, 30, tzinfo=UTC)
HOUR = timedelta(minutes=30)


def _request(**fields: object) -> SchedulingRequest:
    values: dict[str, object] = {
        "org_id": "T1",
        "rep_id": 1,
        "ref": "ACME-1",
        "status": RequestStatus.awaiting_response,
        "created_at": NOW - timedelta(days=2),
        "updated_at": NOW - timedelta(days=2),
    }
    return SchedulingRequest(**(values | fields))


def test_times_put_on_offer_read_back_in_the_order_the_prospect_saw_them() -> None:
    request = _request()
    negotiation.put_on_offer(
        request,
        [OfferedSlot(WED, WED + HOUR, ("both free",)), OfferedSlot(TUE, TUE + HOUR)],
        now=NOW,
    )
    assert negotiation.offered_starts(request) == (WED, TUE)
    assert negotiation.offered(request)[0].reasons == ("both free",)
    assert negotiation.offered(request)[1].reasons is None  # an edited email's time: no reasons
    assert request.updated_at == NOW


def test_a_booking_and_its_move_keep_the_event_and_its_time_together() -> None:
    request = _request()
    assert negotiation.meeting(request) is None
    negotiation.record_meeting(request, event_id="ev-1", start=TUE, end=TUE + HOUR, now=NOW)
    assert negotiation.meeting(request) == negotiation.Meeting("ev-1", TUE, TUE + HOUR)
    negotiation.record_meeting(request, event_id="ev-1", start=WED, end=WED + HOUR, now=NOW)
    assert negotiation.meeting(request) == negotiation.Meeting("ev-1", WED, WED + HOUR)


def test_a_cancelled_event_is_no_meeting_to_move_but_its_time_is_remembered() -> None:
    request = _request()
    negotiation.record_meeting(request, event_id="ev-1", start=TUE, end=TUE + HOUR, now=NOW)
    negotiation.forget_meeting(request, now=NOW)
    assert negotiation.meeting(request) is None
    assert request.meeting_start == TUE  # reporting still reads when it was


def test_a_meeting_that_is_over_leaves_nothing_for_the_next_one() -> None:
    request = _request()
    negotiation.record_meeting(request, event_id="ev-1", start=TUE, end=TUE + HOUR, now=NOW)
    negotiation.meeting_over(request, now=NOW)
    assert negotiation.meeting(request) is None
    assert (request.meeting_start, request.meeting_end) == (None, None)


def test_an_event_id_without_its_time_is_no_meeting_time_but_still_the_event_to_move() -> None:
    half = _request(calendar_event_id="ev-1")  # a row half-written: an id, no time
    assert negotiation.meeting(half) is None  # no time to remind of or to check
    assert negotiation.event_id(half) == "ev-1"  # but a booking moves it, never adds a second


def test_the_state_holds_only_drafts_still_to_be_decided_or_sent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            rep = Rep(org_id="T1", slack_user_id="U1", email="rita@ours.example", created_at=NOW)
            session.add(rep)
            session.flush()
            assert rep.id is not None
            request = _request(rep_id=rep.id)
            other = _request(rep_id=rep.id, ref="ACME-2")
            session.add_all([request, other])
            session.flush()
            statuses = {
                ActionStatus.pending: ActionType.calendar_book,
                ActionStatus.approved: ActionType.email_response,
                ActionStatus.executing: ActionType.email_confirmation,
                ActionStatus.executed: ActionType.email_initial,
                ActionStatus.superseded: ActionType.calendar_book,
                ActionStatus.rejected: ActionType.email_follow_up,
            }
            for n, (status, kind) in enumerate(statuses.items()):
                session.add(_action(request, rep, status, kind, minutes=n))
            session.add(_action(other, rep, ActionStatus.pending, ActionType.email_response))
            session.flush()

            state = negotiation.negotiation(session, request)
            assert [(a.status, a.action_type) for a in state.open_drafts] == [
                (ActionStatus.pending, ActionType.calendar_book),
                (ActionStatus.approved, ActionType.email_response),
                (ActionStatus.executing, ActionType.email_confirmation),
            ]
            assert [a.status for a in state.drafts_of(ActionType.calendar_book)] == [
                ActionStatus.pending
            ]
            assert state.meeting is None and state.offered == ()
    finally:
        engine.dispose()


def _action(
    request: SchedulingRequest,
    rep: Rep,
    status: ActionStatus,
    kind: ActionType,
    *,
    minutes: int = 0,
) -> PendingAction:
    at = NOW + timedelta(minutes=minutes)
    return PendingAction(
        org_id="T1",
        rep_id=rep.id,
        request_id=request.id,
        action_type=kind,
        status=status,
        idempotency_key=f"{request.ref}-{status}-{kind}",
        created_at=at,
        updated_at=at,
    )
