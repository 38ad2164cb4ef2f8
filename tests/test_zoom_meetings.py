"""Zoom meetings people can join: a room made per booking through the team's Zoom app (moved
and deleted with the meeting), else the rep's own link; the link reaches the invitation, its
calendar part and the confirmation. The real client code speaks HTTP to a local Zoom."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from sqlmodel import col, select

from bot.local_slack import Message
from bot.settings_modal import read_settings
from connectors.clock import ManualClock
from connectors.errors import ReconnectRequired, TransientError
from connectors.zoom import ZoomRooms
from db.models import ActionStatus, ActionType, PendingAction, Rep, SchedulingRequest
from orchestrator.commands.meeting_types import save_kind
from orchestrator.meeting_kinds import MeetingKind
from tests.fakes.zoom import ACCOUNT, CLIENT, SECRET, FakeZoom
from tests.support.stack import REP_EMAIL, Stack
from tests.test_ics_invites import book_by_reply, invitations
from tests.test_mail_intake import PROSPECT, a_reply, deliver, send_first_email
from tests.test_meeting_lifecycle import approve, propose_move, replies_to_last_click

START = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


@pytest.fixture
def zoom() -> Iterator[FakeZoom]:
    fake = FakeZoom()
    yield fake
    fake.close()


@pytest.fixture
def zoom_stack(backend: tuple[str, Redis], clock: ManualClock, zoom: FakeZoom) -> Iterator[Stack]:
    url, redis = backend
    with Stack.start(
        database_url=url,
        redis=redis,
        clock=clock,
        zoom_account_id=ACCOUNT,
        zoom_client_id=CLIENT,
        zoom_client_secret=SECRET,
        zoom_api_url=zoom.api_url,
        zoom_token_url=zoom.token_url,
    ) as running:
        yield running


def _zoom_demos(stack: Stack) -> None:
    with stack.deps.uow() as uow:
        assert save_kind(
            uow.session,
            org_id=stack.slack.team_id,
            kind=MeetingKind(name="demo", platform="zoom"),
            replaces=None,
            now=stack.clock.now(),
        ).ok
        uow.commit()


def _rooms(zoom: FakeZoom, clock: ManualClock, *, timeout: float = 5.0) -> ZoomRooms:
    return ZoomRooms(
        account_id=ACCOUNT,
        client_id=CLIENT,
        client_secret=SECRET,
        clock=clock,
        api_url=zoom.api_url,
        token_url=zoom.token_url,
        timeout=timeout,
    )


# --- the adapter --------------------------------------------------------------------------------


def test_a_create_whose_answer_was_lost_leaves_one_room(zoom: FakeZoom, clock: ManualClock) -> None:
    rooms = _rooms(zoom, clock, timeout=0.5)
    # Zoom makes the meeting, but its answer comes after the client gave up.
    zoom.http.inject("POST", r"^/v2/users/.+/meetings$", None, delay=1.5)
    with pytest.raises(TransientError):
        rooms.create_room(host=REP_EMAIL, topic="Demo with Jo", start=START, minutes=30)
    again = rooms.create_room(host=REP_EMAIL, topic="Demo with Jo", start=START, minutes=30)
    (made,) = zoom.meetings.values()
    assert again.join_url == made["join_url"] and again.room_id == str(made["id"])
    assert made["start_time"] == "2026-12-08T15:00:00Z" and made["duration"] == 30
    # One token served every call until it nears its end.
    assert zoom.tokens_issued == 1


def test_the_token_is_renewed_before_it_expires(zoom: FakeZoom, clock: ManualClock) -> None:
    rooms = _rooms(zoom, clock)
    rooms.create_room(host=REP_EMAIL, topic="A", start=START, minutes=30)
    clock.advance(timedelta(minutes=58))  # two minutes left: still good
    rooms.create_room(host=REP_EMAIL, topic="B", start=START, minutes=30)
    assert zoom.tokens_issued == 1
    clock.advance(timedelta(minutes=1, seconds=30))  # thirty seconds left: renewed first
    rooms.create_room(host=REP_EMAIL, topic="B", start=START, minutes=30)
    assert zoom.tokens_issued == 2


def test_wrong_app_credentials_ask_for_reconnecting(zoom: FakeZoom, clock: ManualClock) -> None:
    rooms = ZoomRooms(
        account_id=ACCOUNT,
        client_id=CLIENT,
        client_secret="not-it",
        clock=clock,
        api_url=zoom.api_url,
        token_url=zoom.token_url,
    )
    with pytest.raises(ReconnectRequired):
        rooms.create_room(host=REP_EMAIL, topic="A", start=START, minutes=30)
    assert zoom.meetings == {}


def test_deleting_a_room_already_gone_is_done(zoom: FakeZoom, clock: ManualClock) -> None:
    rooms = _rooms(zoom, clock)
    room = rooms.create_room(host=REP_EMAIL, topic="A", start=START, minutes=30)
    rooms.delete_room(room_id=room.room_id)
    rooms.delete_room(room_id=room.room_id)
    assert zoom.meetings == {}
    assert len(zoom.http.requests("DELETE", "/v2/meetings/")) == 2


# --- through the product -------------------------------------------------------------------------


def test_a_zoom_booking_makes_one_room_and_every_email_carries_its_link(
    zoom_stack: Stack, zoom: FakeZoom
) -> None:
    _zoom_demos(zoom_stack)
    booking = book_by_reply(zoom_stack)
    (room,) = zoom.meetings.values()
    link = room["join_url"]
    assert room["host_email"] == REP_EMAIL and room["duration"] == 45
    assert booking.result is not None
    assert (booking.result["join_url"], booking.result["room_id"]) == (link, str(room["id"]))
    assert room["start_time"] == booking.effective_data()["start"].replace("+00:00", "Z")

    ((invite, _, event),) = invitations(zoom_stack, PROSPECT)
    assert str(event["LOCATION"]) == str(event["URL"]) == str(event["CONFERENCE"]) == link
    assert f"Join: {link}" in invite.get_body(("plain",)).get_content()
    approve(zoom_stack, ActionType.email_confirmation)
    confirmation = zoom_stack.inbox(PROSPECT)[-1]
    assert link in confirmation.raw


def test_moving_and_cancelling_take_the_room_along(zoom_stack: Stack, zoom: FakeZoom) -> None:
    _zoom_demos(zoom_stack)
    book_by_reply(zoom_stack)
    approve(zoom_stack, ActionType.email_confirmation)
    (request,) = zoom_stack.rows(SchedulingRequest)
    assert request.calendar_event_id is not None
    (room_id,) = zoom.meetings

    new_start = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    propose_move(zoom_stack, request, request.calendar_event_id, new_start)
    approve(zoom_stack, ActionType.calendar_update)
    assert zoom.meetings[room_id]["start_time"] == "2026-12-10T16:00:00Z"
    (_, (_, _, moved)) = invitations(zoom_stack, PROSPECT)
    assert str(moved["LOCATION"]) == zoom.meetings[room_id]["join_url"]

    prompt = json.loads(zoom_stack.command("cancel ACME-1").body)
    zoom_stack.click(
        "cancel_request",
        Message(channel="C0GENERAL", ts="1.1", text=prompt["text"], blocks=prompt["blocks"]),
    )
    assert "Approve the calendar card" in replies_to_last_click(zoom_stack)[0]
    approve(zoom_stack, ActionType.calendar_cancel)
    assert zoom.meetings == {}


def test_without_a_zoom_app_the_reps_own_link_is_used(stack: Stack) -> None:
    _zoom_demos(stack)
    link = "https://acme.zoom.us/j/5550100?pwd=abc"
    first = send_first_email(stack)
    with stack.deps.uow() as uow:
        (rep,) = uow.session.exec(select(Rep)).all()
        rep.zoom_link = link
        uow.session.add(rep)
        uow.commit()
    deliver(stack, a_reply(first, "Tuesday works for me, see you then!"))
    stack.poll_mail()
    booking = approve(stack, ActionType.calendar_book)
    assert booking.result is not None and booking.result["join_url"] == link
    ((_, _, event),) = invitations(stack, PROSPECT)
    assert str(event["LOCATION"]) == link


def test_no_app_and_no_link_fails_the_booking_with_what_to_do(stack: Stack) -> None:
    _zoom_demos(stack)
    deliver(stack, a_reply(send_first_email(stack), "Tuesday works for me, see you then!"))
    stack.poll_mail()
    with pytest.raises(AssertionError, match="add yours in `/schedule settings`"):
        approve(stack, ActionType.calendar_book)  # approved, then refused when it runs
    (failed,) = stack.rows(PendingAction, col(PendingAction.action_type) == "calendar_book")
    assert failed.status == ActionStatus.failed
    assert "add yours in `/schedule settings`" in (failed.error or "")
    assert invitations(stack, PROSPECT) == []


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://acme.zoom.us/j/5550100?pwd=abc", True),
        ("https://zoom.us/my/rita", True),
        ("http://acme.zoom.us/j/5550100", False),
        ("https://zoom.us.evil.example/j/1", False),
        ("https://user@acme.zoom.us/j/1", False),
        ("javascript:alert(1)", False),
    ],
)
def test_the_settings_accept_only_zoom_links(link: str, ok: bool) -> None:
    values = {
        "timezone": {"timezone": {"value": "Europe/Berlin"}},
        "daily_send_limit": {"daily_send_limit": {"value": "25"}},
        "zoom_link": {"zoom_link": {"value": link}},
    }
    chosen, errors = read_settings(values)
    assert (chosen is not None) == ok, errors
    if ok:
        assert chosen is not None and chosen.zoom_link == link
    else:
        assert "zoom_link" in errors
