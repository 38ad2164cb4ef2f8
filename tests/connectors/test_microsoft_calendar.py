"""MicrosoftCalendar: the real msgraph-sdk (kiota, httpx) over HTTP to a local Graph fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.calendar.microsoft import (
    EVENT_ID_PROPERTY,
    MicrosoftCalendar,
    transaction_id,
)
from connectors.clock import ManualClock
from connectors.credentials import CredentialStore, TokenCipher
from connectors.errors import (
    EventNotFound,
    PermanentError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from connectors.graph_accounts import StoredMicrosoftAccounts
from connectors.oauth import microsoft_provider
from connectors.ports import CalendarEvent, CalendarPort, CreatedEvent, EventAttendee, Interval
from db.engine import make_engine, make_session_factory
from db.models import Rep
from tests.fakes.graph_calendar import FakeGraphCalendar, graph_error
from tests.fakes.http import Response as Reply
from tests.fakes.oauth import FakeOAuthServer

SAM = "sam@contoso.test"
ALEX = "alex@contoso.test"
PAT = "pat@prospect.test"
NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
EVENTS = r"^/v1\.0/users/sam@contoso\.test/events"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class FakeCredential:
    """azure-core TokenCredential without an Entra ID round-trip."""

    def __init__(self, token: str = "graph-token") -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def fake() -> Iterator[FakeGraphCalendar]:
    with FakeGraphCalendar() as server:
        yield server


@pytest.fixture
def graph(fake: FakeGraphCalendar) -> Iterator[MicrosoftCalendar]:
    calendar = calendar_for(fake)
    yield calendar
    calendar.close()


def calendar_for(
    fake: FakeGraphCalendar, credential: Any = None, **kwargs: Any
) -> MicrosoftCalendar:
    held = {SAM: credential or FakeCredential()}
    kwargs.setdefault("timeout", 5.0)
    return MicrosoftCalendar(held.get, base_url=fake.url + "/v1.0", **kwargs)


def last_filter(fake: FakeGraphCalendar) -> str:
    return fake.calls("GET", EVENTS + "$")[-1].param("$filter") or ""


def meeting(**changes: object) -> CalendarEvent:
    base: dict[str, object] = {
        "event_id": "req-7:calendar_book",
        "organizer": SAM,
        "title": "Contoso demo",
        "start": utc(2026, 12, 1, 15),
        "end": utc(2026, 12, 1, 15, 30),
        "attendees": (EventAttendee(ALEX, "Alex"), EventAttendee(PAT, "Pat", optional=True)),
        "description": "Agenda",
        "location": "Room 4",
        "conference": "teams",
    }
    base.update(changes)
    return CalendarEvent(**base)  # type: ignore[arg-type]


def test_get_schedule_busy_working_hours_and_statuses(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    fake.schedule = {
        SAM: [
            ("busy", "2026-12-01T15:00:00", "2026-12-01T16:00:00"),
            ("free", "2026-12-01T16:00:00", "2026-12-01T17:00:00"),
            ("workingElsewhere", "2026-12-01T17:00:00", "2026-12-01T18:00:00"),
        ],
        ALEX: [
            ("tentative", "2026-12-01T09:00:00", "2026-12-01T09:30:00"),
            ("oof", "2026-12-01T12:00:00", "2026-12-01T13:00:00"),
        ],
    }
    fake.working_hours[SAM] = {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "08:30:00.0000000",
        "endTime": "17:00:00.0000000",
        "timeZone": {"name": "Pacific Standard Time"},
    }
    found = graph.availability(
        emails=[SAM, ALEX.upper(), "ghost@contoso.test"],
        start=utc(2026, 12, 1),
        end=utc(2026, 12, 2),
    )
    assert set(found) == {SAM, ALEX}  # ghost's mailbox is unknown, not free
    assert found[SAM].busy == [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 16))]
    assert found[SAM].working_hours == {d: (clock_time(8, 30), clock_time(17, 0)) for d in range(5)}
    assert found[SAM].timezone == "America/Los_Angeles"
    assert found[ALEX].busy == [
        Interval(utc(2026, 12, 1, 9), utc(2026, 12, 1, 9, 30)),  # tentative blocks by default
        Interval(utc(2026, 12, 1, 12), utc(2026, 12, 1, 13)),
    ]
    assert found[ALEX].working_hours == {}
    [call] = fake.calls("POST", "getSchedule")
    assert call.path == f"/v1.0/users/{SAM}/calendar/getSchedule"
    body = {k.lower(): v for k, v in call.body.items()}  # the SDK sends PascalCase
    assert body["schedules"] == [SAM, ALEX, "ghost@contoso.test"]
    assert {k.lower(): v for k, v in body["starttime"].items()} == {
        "datetime": "2026-12-01T00:00:00",
        "timezone": "UTC",
    }
    assert {k.lower(): v for k, v in body["endtime"].items()} == {
        "datetime": "2026-12-02T00:00:00",
        "timezone": "UTC",
    }
    assert body["availabilityviewinterval"] == 15
    assert call.headers["authorization"] == "Bearer graph-token"


def test_free_busy_port_and_tentative_setting(fake: FakeGraphCalendar) -> None:
    fake.schedule = {SAM: [("tentative", "2026-12-01T09:00:00", "2026-12-01T09:30:00")]}
    relaxed = calendar_for(fake, tentative_is_busy=False)
    port: CalendarPort = relaxed
    assert port.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2)) == {SAM: []}
    relaxed.close()


def test_many_mailboxes_are_chunked_by_twenty(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    emails = [SAM] + [f"p{i}@contoso.test" for i in range(24)]
    fake.schedule = {e: [] for e in emails}
    assert len(graph.free_busy(emails=emails, start=utc(2026, 12, 1), end=utc(2026, 12, 2))) == 25
    sizes = [
        len({k.lower(): v for k, v in c.body.items()}["schedules"])
        for c in fake.calls("POST", "getSchedule")
    ]
    assert sizes == [20, 5]


def test_create_makes_a_teams_meeting_with_a_transaction_id(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    created = graph.create_event(meeting())
    assert created == CreatedEvent(
        "req-7:calendar_book", "https://teams.microsoft.com/l/meetup-join/AAMkAD-1"
    )
    [call] = fake.calls("POST", EVENTS + "$")
    assert call.headers["prefer"] == 'outlook.timezone="UTC"'
    body = call.body
    assert body["subject"] == "Contoso demo"
    assert body["start"] == {"dateTime": "2026-12-01T15:00:00", "timeZone": "UTC"}
    assert body["end"] == {"dateTime": "2026-12-01T15:30:00", "timeZone": "UTC"}
    assert body["isOnlineMeeting"] is True
    assert body["onlineMeetingProvider"] == "teamsForBusiness"
    assert body["transactionId"] == transaction_id("req-7:calendar_book")
    assert body["location"]["displayName"] == "Room 4"
    assert [(a["emailAddress"]["address"], a["type"]) for a in body["attendees"]] == [
        (ALEX, "required"),
        (PAT, "optional"),
    ]
    assert body["singleValueExtendedProperties"] == [
        {"id": EVENT_ID_PROPERTY, "value": "req-7:calendar_book"}
    ]


def test_retried_create_after_a_timeout_makes_exactly_one_event(fake: FakeGraphCalendar) -> None:
    graph = calendar_for(fake, timeout=0.5, max_retries=0)
    fake.inject("POST", EVENTS + "$", delay=3.0)  # stored, then the answer is lost
    started = time.monotonic()
    with pytest.raises(TransientError):
        graph.create_event(meeting())
    assert time.monotonic() - started < 2.5  # our timeout, not the server's delay
    assert len(fake.mailbox(SAM)) == 1
    graph.close()
    graph = calendar_for(fake, max_retries=0)  # the retry: a later attempt, usual timeout
    again = graph.create_event(meeting())
    assert again == CreatedEvent(
        "req-7:calendar_book", "https://teams.microsoft.com/l/meetup-join/AAMkAD-1"
    )
    assert len(fake.mailbox(SAM)) == 1
    ids = [c.body["transactionId"] for c in fake.calls("POST", EVENTS + "$")]
    assert ids == [transaction_id("req-7:calendar_book")] * 2
    graph.close()


def test_update_finds_the_event_by_our_id_and_patches_it(fake: FakeGraphCalendar) -> None:
    calendar_for(fake).create_event(meeting())
    fresh = calendar_for(fake)  # a different worker: no cached Graph id
    fresh.update_event(
        meeting(start=utc(2026, 12, 2, 17), end=utc(2026, 12, 2, 18), conference=None)
    )
    [lookup] = fake.calls("GET", EVENTS + "$")
    assert lookup.param("$filter") == (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{EVENT_ID_PROPERTY}' "
        "and ep/value eq 'req-7:calendar_book')"
    )
    [patch] = fake.calls("PATCH", EVENTS)
    assert patch.path == f"/v1.0/users/{SAM}/events/AAMkAD-1"
    assert patch.body["start"] == {"dateTime": "2026-12-02T17:00:00", "timeZone": "UTC"}
    assert "transactionId" not in patch.body
    stored = fake.only_event(SAM)
    assert stored["end"] == {"dateTime": "2026-12-02T18:00:00.0000000", "timeZone": "UTC"}
    # Quotes in our id are escaped in the OData filter, and an unknown id is a clear error.
    with pytest.raises(EventNotFound):
        fresh.update_event(meeting(event_id="it's-not-there"))
    assert last_filter(fake).endswith("and ep/value eq 'it''s-not-there')")
    fresh.close()


def test_cancel_posts_cancel_and_is_idempotent(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    graph.create_event(meeting())
    graph.cancel_event(organizer=SAM, event_id="req-7:calendar_book")
    [cancel] = fake.calls("POST", r"/cancel$")
    assert cancel.path == f"/v1.0/users/{SAM}/events/AAMkAD-1/cancel"
    assert {k.lower(): v for k, v in cancel.body.items()} == {
        "comment": "This meeting has been cancelled."
    }
    assert fake.mailbox(SAM) == {}
    graph.cancel_event(organizer=SAM, event_id="req-7:calendar_book")
    graph.cancel_event(organizer=SAM, event_id="never-made")
    assert len(fake.calls("POST", r"/cancel$")) == 1
    with pytest.raises(EventNotFound):
        graph.update_event(meeting())


def test_attendee_responses_are_normalised(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    graph.create_event(meeting())
    assert graph.attendee_responses(organizer=SAM, event_id="req-7:calendar_book") == {
        ALEX: "needs_action",
        PAT: "needs_action",
    }
    fake.respond(SAM, ALEX, "tentativelyAccepted")
    fake.respond(SAM, PAT, "declined")
    assert graph.attendee_responses(organizer=SAM, event_id="req-7:calendar_book") == {
        ALEX: "tentative",
        PAT: "declined",
    }
    fake.respond(SAM, PAT, "accepted")
    assert (
        graph.attendee_responses(organizer=SAM, event_id="req-7:calendar_book")[PAT] == "accepted"
    )
    with pytest.raises(EventNotFound):
        graph.attendee_responses(organizer=SAM, event_id="unknown")


def test_meet_is_refused_before_any_call(fake: FakeGraphCalendar, graph: MicrosoftCalendar) -> None:
    with pytest.raises(PermanentError, match="google_meet"):
        graph.create_event(meeting(conference="google_meet"))
    assert fake.requests == []


def test_revoked_token_needs_reconnect(fake: FakeGraphCalendar) -> None:
    graph = calendar_for(fake, credential=FakeCredential("revoked-token"))
    with pytest.raises(ReconnectRequired, match="InvalidAuthenticationToken"):
        graph.create_event(meeting())
    assert len(fake.calls("POST")) == 1
    graph.close()


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (graph_error(429, "ApplicationThrottled", headers={"Retry-After": "7"}), RateLimited, 7.0),
        (graph_error(503, "ServiceNotAvailable"), TransientError, None),
        (graph_error(500, "ErrorInternalServerError"), TransientError, None),
        (graph_error(409, "ErrorIrresolvableConflict"), TransientError, None),
    ],
)
def test_throttling_and_outages_are_transient(
    fake: FakeGraphCalendar, reply: Reply, error: type[Exception], retry_after: float | None
) -> None:
    graph = calendar_for(fake, max_retries=0)
    fake.inject("POST", EVENTS + "$", reply)
    with pytest.raises(error) as caught:
        graph.create_event(meeting())
    assert isinstance(caught.value, TransientError)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert fake.mailbox(SAM) == {}
    graph.close()


def test_the_small_retry_middleware_rides_out_one_throttle(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    fake.inject(
        "POST", EVENTS + "$", graph_error(429, "ApplicationThrottled", headers={"Retry-After": "1"})
    )
    assert graph.create_event(meeting()).join_url is not None
    assert len(fake.calls("POST", EVENTS + "$")) == 2
    assert len(fake.mailbox(SAM)) == 1


def test_bad_requests_are_permanent(fake: FakeGraphCalendar, graph: MicrosoftCalendar) -> None:
    fake.inject("POST", EVENTS + "$", graph_error(400, "ErrorInvalidRequest", "bad"))
    with pytest.raises(PermanentError) as caught:
        graph.create_event(meeting())
    assert not isinstance(caught.value, (TransientError, ReconnectRequired))
    fake.inject("POST", EVENTS + "$", graph_error(403, "ErrorAccessDenied", "Access is denied."))
    with pytest.raises(ReconnectRequired):
        graph.create_event(meeting())


def test_unreachable_graph_is_transient() -> None:
    with FakeGraphCalendar() as dead:
        url = dead.url
    graph = MicrosoftCalendar(
        {SAM: FakeCredential()}.get, base_url=url + "/v1.0", timeout=1, max_retries=0
    )
    with pytest.raises(TransientError):
        graph.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    graph.close()


def test_unconnected_people_need_to_connect(
    fake: FakeGraphCalendar, graph: MicrosoftCalendar
) -> None:
    with pytest.raises(ReconnectRequired, match="has not connected"):
        graph.create_event(meeting(organizer=ALEX))
    with pytest.raises(ReconnectRequired, match="none of"):
        graph.free_busy(emails=[ALEX], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert fake.requests == []


def test_stored_credential_refreshes_rotates_and_revocation_reconnects(
    fake: FakeGraphCalendar, sqlite_url: str
) -> None:
    sessions: sessionmaker[Session] = make_session_factory(make_engine(sqlite_url))
    rep = Rep(org_id="T1", slack_user_id="U1", email="Sam@Contoso.test", created_at=NOW)
    with sessions() as session:
        session.add(rep)
        session.commit()
    store = CredentialStore(sessions, TokenCipher(TokenCipher.generate_key()))
    with FakeOAuthServer(tenant="common") as oauth:
        provider = microsoft_provider(
            client_id="client-id", client_secret="client-secret", authority=oauth.url
        )
        oauth.refresh_tokens["M.refresh-1"] = True
        store.save(
            org_id="T1",
            rep_id=rep.id,
            provider="microsoft",
            token={"access_token": "stale", "refresh_token": "M.refresh-1"},
            scopes=["https://graph.microsoft.com/Calendars.ReadWrite"],
            expires_at=NOW - timedelta(minutes=1),
            now=NOW,
        )
        accounts = StoredMicrosoftAccounts(
            session_factory=sessions,
            store=store,
            provider=provider,
            org_id="T1",
            clock=ManualClock(NOW),
        )
        assert accounts.credential_for("nobody@contoso.test") is None
        fake.valid_tokens.add("ya29.refreshed-1")
        fake.schedule = {SAM: [("busy", "2026-12-01T15:00:00", "2026-12-01T16:00:00")]}
        graph = MicrosoftCalendar(accounts.credential_for, base_url=fake.url + "/v1.0", timeout=5)
        assert graph.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2)) == {
            SAM: [Interval(utc(2026, 12, 1, 15), utc(2026, 12, 1, 16))]
        }
        [refresh] = oauth.calls("POST", "/token$")
        assert refresh.body["grant_type"] == "refresh_token"
        # msal adds sign-in ("openid") to every request, in no particular order.
        assert sorted(refresh.body["scope"].split()) == [
            "https://graph.microsoft.com/Calendars.ReadWrite",
            "offline_access",
            "openid",
        ]
        loaded = store.load(org_id="T1", rep_id=rep.id, provider="microsoft")
        assert loaded is not None and loaded.token["access_token"] == "ya29.refreshed-1"
        assert loaded.expires_at == NOW + timedelta(seconds=3599)
        with sessions() as session:
            [raw] = session.execute(text("SELECT token_ciphertext FROM credentials")).scalars()
        assert "ya29" not in raw and "M.refresh" not in raw
        # Fresh token: no second refresh. Then the grant is revoked and the token expires.
        graph.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
        assert len(oauth.calls("POST", "/token$")) == 1
        oauth.revoke("M.refresh-1")
        store.save(
            org_id="T1",
            rep_id=rep.id,
            provider="microsoft",
            token={"access_token": "old", "refresh_token": "M.refresh-1"},
            scopes=[],
            expires_at=NOW,
            now=NOW,
        )
        with pytest.raises(ReconnectRequired, match="revoked"):
            graph.free_busy(emails=[SAM], start=utc(2026, 12, 1), end=utc(2026, 12, 2))
        graph.close()
