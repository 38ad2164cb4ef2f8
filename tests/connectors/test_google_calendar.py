"""GoogleCalendar: the real google-api-python-client and google-auth over HTTP to a local fake."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google.oauth2.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.calendar.google import GoogleCalendar, StoredGoogleAccounts, google_event_id
from connectors.clock import ManualClock
from connectors.credentials import CredentialStore, TokenCipher
from connectors.errors import (
    EventNotFound,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from connectors.ports import CalendarEvent, CalendarPort, CreatedEvent, EventAttendee, Interval
from db.engine import make_engine, make_session_factory
from db.models import Rep
from tests.fakes.google_calendar import FakeGoogleCalendar, google_error
from tests.fakes.http import Response as Reply

SAM = "sam@acme.test"
ALEX = "alex@acme.test"
PAT = "pat@prospect.test"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
EVENTS = r"^/calendar/v3/calendars/sam@acme\.test/events"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


def creds(
    fake: FakeGoogleCalendar, *, token: str = "ya29.valid", expired: bool = False
) -> Credentials:
    return Credentials(
        token=token,
        refresh_token="1//refresh",
        client_id="cid",
        client_secret="cs",
        token_uri=fake.url + "/token",
        # google-auth compares naive UTC; year 2000 means "expired", far future means valid.
        expiry=datetime(2000, 1, 1) if expired else datetime(2100, 1, 1),  # noqa: DTZ001
    )


def calendar_for(
    fake: FakeGoogleCalendar, timeout: float = 5.0, **kwargs: object
) -> GoogleCalendar:
    held = {SAM: creds(fake)}
    return GoogleCalendar(
        held.get,
        api_endpoint=fake.url + "/calendar/v3/",
        timeout=timeout,
        **kwargs,  # type: ignore[arg-type]
    )


def meeting(**changes: object) -> CalendarEvent:
    base: dict[str, object] = {
        "event_id": "req-42:calendar_book",
        "organizer": SAM,
        "title": "Acme demo",
        "start": utc(2026, 12, 1, 15),
        "end": utc(2026, 12, 1, 15, 30),
        "attendees": (EventAttendee(ALEX, "Alex"), EventAttendee(PAT, "Pat", optional=True)),
        "description": "Agenda",
        "conference": "google_meet",
    }
    base.update(changes)
    return CalendarEvent(**base)  # type: ignore[arg-type]


GID = google_event_id("req-42:calendar_book")


def test_event_id_is_deterministic_base32hex() -> None:
    # Pinned: changing the derivation would break idempotency for creates retried across a
    # deploy, so it must not change by accident.
    assert (
        google_event_id("req-42:calendar_book")
        == "cvvffj11ldns776dclf0kco3dgvrvqqunj7go0sce3eijg8f5enjeg"
    )
    assert google_event_id("req-43:calendar_book") != GID
    assert re.fullmatch(r"[a-v0-9]{54}", GID)


@given(st.text(min_size=0, max_size=300))
def test_any_id_maps_to_a_valid_google_id(our_id: str) -> None:
    assert re.fullmatch(r"[a-v0-9]{5,1024}", google_event_id(our_id))


def test_free_busy_asks_for_many_calendars_in_one_call(fake: FakeGoogleCalendar) -> None:
    fake.busy = {
        SAM: [("2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z")],
        ALEX: [
            ("2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z"),
            ("2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
        ],
    }
    port: CalendarPort = calendar_for(fake)
    busy = port.free_busy(
        emails=[SAM, ALEX.upper(), "ghost@acme.test"], start=utc(2026, 12, 1), end=utc(2026, 12, 2)
    )
    assert busy == {
        SAM: [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 16))],
        ALEX: [Interval(utc(2026, 12, 1, 9), utc(2026, 12, 1, 9, 30))],
        # ghost's calendar is not visible: absent, not "free".
    }
    [call] = fake.calls("POST", "freeBusy")
    assert call.body == {
        "timeMin": "2026-12-01T00:00:00Z",
        "timeMax": "2026-12-02T00:00:00Z",
        "timeZone": "UTC",
        "items": [{"id": SAM}, {"id": ALEX}, {"id": "ghost@acme.test"}],
    }
    assert call.headers["authorization"] == "Bearer ya29.valid"


def test_free_busy_chunks_past_googles_fifty_calendar_limit(fake: FakeGoogleCalendar) -> None:
    emails = [SAM] + [f"p{i}@acme.test" for i in range(60)]
    fake.busy = {e: [] for e in emails}
    busy = calendar_for(fake).free_busy(emails=emails, start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert len(busy) == 61
    assert [len(c.body["items"]) for c in fake.calls("POST", "freeBusy")] == [50, 11]


def test_expired_token_refreshes_and_the_new_one_is_reported(fake: FakeGoogleCalendar) -> None:
    fake.busy = {SAM: []}
    refreshed: list[tuple[str, str | None]] = []
    held = {SAM: creds(fake, token="ya29.stale", expired=True)}
    calendar = GoogleCalendar(
        held.get,
        api_endpoint=fake.url + "/calendar/v3/",
        on_refresh=lambda email, c: refreshed.append((email, c.token)),
    )
    calendar.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    [token_call] = fake.calls("POST", "^/token$")
    assert token_call.body["grant_type"] == "refresh_token"
    assert token_call.body["refresh_token"] == "1//refresh"
    assert fake.calls("POST", "freeBusy")[0].headers["authorization"] == "Bearer ya29.refreshed-1"
    assert refreshed == [(SAM, "ya29.refreshed-1")]


def test_create_sends_attendees_meet_request_and_our_id(fake: FakeGoogleCalendar) -> None:
    created = calendar_for(fake).create_event(meeting())
    assert created == CreatedEvent(
        "req-42:calendar_book", f"https://meet.google.com/fak-{GID[2:6]}-xyz"
    )
    [call] = fake.calls("POST", EVENTS)
    assert call.query == {"sendUpdates": ["all"], "conferenceDataVersion": ["1"], "alt": ["json"]}
    assert call.body["id"] == GID
    assert call.body["start"] == {"dateTime": "2026-12-01T15:00:00Z", "timeZone": "UTC"}
    assert call.body["end"] == {"dateTime": "2026-12-01T15:30:00Z", "timeZone": "UTC"}
    assert call.body["attendees"] == [
        {"email": ALEX, "displayName": "Alex", "optional": False},
        {"email": PAT, "displayName": "Pat", "optional": True},
    ]
    assert call.body["conferenceData"] == {
        "createRequest": {"requestId": GID, "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    assert call.body["extendedProperties"] == {
        "private": {"convene_event_id": "req-42:calendar_book"}
    }
    assert len(fake.events) == 1


def test_create_without_conference_has_no_link_and_teams_is_refused(
    fake: FakeGoogleCalendar,
) -> None:
    calendar = calendar_for(fake)
    assert calendar.create_event(meeting(conference=None)).join_url is None
    assert "conferenceData" not in fake.calls("POST", EVENTS)[0].body
    with pytest.raises(PermanentError, match="teams"):
        calendar.create_event(meeting(event_id="other", conference="teams"))
    assert len(fake.calls("POST", EVENTS)) == 1


def test_retried_create_after_a_timeout_makes_exactly_one_event(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake, timeout=0.5)
    # Google stores the event, then the answer never arrives in time.
    fake.inject("POST", EVENTS + "$", delay=3.0)
    started = time.monotonic()
    with pytest.raises(TransientError):
        calendar.create_event(meeting())
    assert time.monotonic() - started < 2.5  # our timeout, not the server's delay
    assert len(fake.events) == 1
    # What the orchestrator's retry does (a later attempt, with the usual timeout).
    again = calendar_for(fake).create_event(meeting())
    assert again == CreatedEvent(
        "req-42:calendar_book", f"https://meet.google.com/fak-{GID[2:6]}-xyz"
    )
    assert len(fake.events) == 1
    inserts = fake.calls("POST", EVENTS + "$")
    assert [c.body["id"] for c in inserts] == [GID, GID]
    assert [c.path for c in fake.calls("GET", EVENTS)] == [
        f"/calendar/v3/calendars/{SAM}/events/{GID}"
    ]


def test_patch_reschedules_the_same_event_and_notifies(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake)
    calendar.create_event(meeting())
    calendar.update_event(meeting(start=utc(2026, 12, 2, 17), end=utc(2026, 12, 2, 18)))
    [call] = fake.calls("PATCH", EVENTS)
    assert call.path == f"/calendar/v3/calendars/{SAM}/events/{GID}"
    assert call.query["sendUpdates"] == ["all"]
    assert call.body["start"] == {"dateTime": "2026-12-02T17:00:00Z", "timeZone": "UTC"}
    stored = fake.event(SAM, GID)
    assert (stored["end"]["dateTime"], stored["sequence"]) == ("2026-12-02T18:00:00Z", 1)
    assert len(fake.events) == 1


def test_cancel_deletes_with_notice_and_is_idempotent(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake)
    calendar.create_event(meeting())
    calendar.cancel_event(organizer=SAM, event_id="req-42:calendar_book")
    calendar.cancel_event(organizer=SAM, event_id="req-42:calendar_book")  # 410 Gone
    calendar.cancel_event(organizer=SAM, event_id="never-made")  # 404
    deletes = fake.calls("DELETE", EVENTS)
    assert [c.query["sendUpdates"] for c in deletes] == [["all"]] * 3
    assert fake.event(SAM, GID)["status"] == "cancelled"
    with pytest.raises(EventNotFound):
        calendar.update_event(meeting())
    # A deleted event's id cannot be booked again: say so instead of pretending it exists.
    with pytest.raises(PermanentError, match="cancelled"):
        calendar.create_event(meeting())


def test_attendee_responses_are_normalised(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake)
    calendar.create_event(meeting())
    fake.respond(SAM, GID, PAT, "accepted")
    fake.respond(SAM, GID, ALEX, "tentative")
    fake.event(SAM, GID)["attendees"].append(
        {"email": SAM, "organizer": True, "responseStatus": "accepted"}
    )
    assert calendar.attendee_responses(organizer=SAM, event_id="req-42:calendar_book") == {
        ALEX: "tentative",
        PAT: "accepted",
    }
    fake.respond(SAM, GID, ALEX, "declined")
    fake.respond(SAM, GID, PAT, "needsAction")
    assert calendar.attendee_responses(organizer=SAM, event_id="req-42:calendar_book") == {
        ALEX: "declined",
        PAT: "needs_action",
    }
    with pytest.raises(EventNotFound):
        calendar.attendee_responses(organizer=SAM, event_id="unknown")


def test_revoked_grant_asks_the_rep_to_reconnect_without_a_retry_storm(
    fake: FakeGoogleCalendar,
) -> None:
    fake.busy = {SAM: []}
    fake.refresh_tokens["1//refresh"] = False
    held = {SAM: creds(fake, token="ya29.revoked")}
    calendar = GoogleCalendar(held.get, api_endpoint=fake.url + "/calendar/v3/")
    with pytest.raises(ReconnectRequired, match="revoked"):
        calendar.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert len(fake.calls("POST", "freeBusy")) == 1
    assert len(fake.calls("POST", "^/token$")) == 1


def test_401_after_a_good_refresh_still_means_reconnect(fake: FakeGoogleCalendar) -> None:
    fake.busy = {SAM: []}
    fake.inject("POST", "freeBusy", google_error(401, "Invalid Credentials", "authError"), times=5)
    with pytest.raises(ReconnectRequired):
        calendar_for(fake).free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    # google-auth refreshes on 401 at most twice, then gives up: bounded, not a storm.
    assert len(fake.calls("POST", "freeBusy")) == 3
    assert len(fake.calls("POST", "^/token$")) == 2


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (
            Reply(429, {"error": {"code": 429, "message": "slow"}}, {"Retry-After": "7"}),
            RateLimited,
            7.0,
        ),
        (google_error(403, "Rate Limit Exceeded", "rateLimitExceeded"), RateLimited, None),
        (google_error(503, "Backend Error", "backendError"), TransientError, None),
        (google_error(500, "Backend Error", "backendError"), TransientError, None),
    ],
)
def test_throttling_and_outages_are_transient_and_not_retried_inside(
    fake: FakeGoogleCalendar, reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    fake.inject("POST", EVENTS, reply)
    with pytest.raises(error) as caught:
        calendar_for(fake).create_event(meeting())
    assert isinstance(caught.value, TransientError)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert len(fake.calls("POST", EVENTS)) == 1  # the orchestrator owns retries
    assert fake.events == {}


def test_scope_and_request_errors_are_permanent(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake)
    fake.inject(
        "POST", EVENTS, google_error(403, "Insufficient Permission", "insufficientPermissions")
    )
    with pytest.raises(ReconnectRequired):
        calendar.create_event(meeting())
    fake.inject("POST", EVENTS, google_error(400, "Missing end time.", "required"))
    with pytest.raises(PermanentError) as caught:
        calendar.create_event(meeting())
    assert not isinstance(caught.value, (TransientError, ReconnectRequired))
    with pytest.raises(EventNotFound):
        calendar.update_event(meeting(event_id="nope"))


def test_unreachable_google_is_transient() -> None:
    with FakeGoogleCalendar() as dead:
        url = dead.url
    calendar = GoogleCalendar(
        {SAM: Credentials(token="t")}.get, api_endpoint=url + "/calendar/v3/", timeout=1
    )
    with pytest.raises(TransientError):
        calendar.cancel_event(organizer=SAM, event_id="x")


def test_unconnected_people_need_to_connect(fake: FakeGoogleCalendar) -> None:
    calendar = calendar_for(fake)
    with pytest.raises(ReconnectRequired, match="has not connected"):
        calendar.create_event(meeting(organizer=ALEX))
    with pytest.raises(ReconnectRequired, match="none of"):
        calendar.free_busy(emails=[ALEX], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert calendar.free_busy(emails=[], start=utc(2026, 12, 1), end=utc(2026, 12, 2)) == {}
    assert fake.requests == []


def test_stored_accounts_refresh_and_save_back_encrypted(
    fake: FakeGoogleCalendar, sqlite_url: str
) -> None:
    sessions: sessionmaker[Session] = make_session_factory(make_engine(sqlite_url))
    rep = Rep(org_id="T1", slack_user_id="U1", email="Sam@Acme.test", created_at=NOW)
    with sessions() as session:
        session.add(rep)
        session.commit()
    store = CredentialStore(sessions, TokenCipher(TokenCipher.generate_key()))
    store.save(
        org_id="T1",
        rep_id=rep.id,
        provider="google",
        token={"access_token": "ya29.stale", "refresh_token": "1//refresh"},
        scopes=["https://www.googleapis.com/auth/calendar.freebusy"],
        expires_at=NOW - timedelta(minutes=1),
        now=NOW,
    )
    accounts = StoredGoogleAccounts(
        session_factory=sessions,
        store=store,
        org_id="T1",
        client_id="cid",
        client_secret="cs",
        clock=ManualClock(NOW),
        token_uri=fake.url + "/token",
    )
    assert accounts.credentials_for("nobody@acme.test") is None
    fake.busy = {SAM: [("2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z")]}
    calendar = GoogleCalendar(
        accounts.credentials_for,
        api_endpoint=fake.url + "/calendar/v3/",
        on_refresh=accounts.on_refresh,
    )
    busy = calendar.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert busy == {SAM: [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 16))]}
    loaded = store.load(org_id="T1", rep_id=rep.id, provider="google")
    assert loaded is not None
    assert loaded.token == {"access_token": "ya29.refreshed-1", "refresh_token": "1//refresh"}
    # The new lifetime (an hour, from the fake) is stored on our clock, not the system's.
    assert loaded.expires_at is not None
    assert NOW + timedelta(minutes=59) < loaded.expires_at <= NOW + timedelta(hours=1)
    assert loaded.scopes == ("https://www.googleapis.com/auth/calendar.freebusy",)
    with sessions() as session:
        [raw] = session.execute(text("SELECT token_ciphertext FROM credentials")).scalars()
    assert "ya29" not in raw and "1//refresh" not in raw
    # The next call uses the saved token: no second refresh.
    calendar.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert len(fake.calls("POST", "^/token$")) == 1
    assert str(rep.id) == str(uuid.UUID(str(rep.id)))
