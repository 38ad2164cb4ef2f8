"""What the slot finder is asked: `slot_query` turns a request, its people and the settings into
holidays (ours per country, the prospect's per zone), each teammate's own hours and zone, the
buffer between meetings, and the prospect's zone; and the zone -> country -> holidays lookups
behind it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, create_engine

from bot.commands import CommandError, parse_schedule
from bot.confirm_blocks import PendingStart, confirm_card
from bot.modals import new_request_view, read_submission
from connectors.ports import CalendarPort
from db.models import Rep, SchedulingAttendee, SchedulingRequest
from orchestrator.engine.events import StepContext, StepPorts
from orchestrator.settings import Settings
from orchestrator.steps.public_holidays import country_error, holidays_between, zone_country
from orchestrator.steps.scheduling import meeting_when, slot_query
from skills.find_slots import SlotQuery, check_slots, default_working_hours, find_slots

NY = "America/New_York"
BERLIN = "Europe/Berlin"
LONDON = "Europe/London"
TOKYO = "Asia/Tokyo"
RITA = "rita@northwind.example"
OTTO = "otto@northwind.example"
SAM = "sam@northwind.example"
PROSPECT = "john@acme.example"
# Monday Dec 14, 2026; "next week" is Mon Dec 21 - Fri Dec 25 (Christmas Day).
NOW = datetime(2026, 12, 14, 14, 0, tzinfo=UTC)
WEEK = (datetime(2026, 12, 21, 5, 0, tzinfo=UTC), datetime(2026, 12, 26, 5, 0, tzinfo=UTC))
CHRISTMAS, BOXING_DAY, BOXING_DAY_OBSERVED = (
    date(2026, 12, 25),
    date(2026, 12, 26),
    date(2026, 12, 28),
)


class Calendar:
    """Everyone is free, except what a test says."""

    def __init__(self, busy: Mapping[str, Sequence[tuple[datetime, datetime]]] | None = None):
        self.busy = busy or {}

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[Any]]:
        return {
            e.lower(): [_Interval(s, f) for s, f in self.busy.get(e.lower(), ())] for e in emails
        }


class _Interval:
    def __init__(self, start: datetime, end: datetime):
        self.start, self.end = start, end


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    engine = create_engine(sqlite_url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def _rep(session: Session, email: str, tz: str, **more: Any) -> Rep:
    rep = Rep(org_id="T1", slack_user_id=email, email=email, timezone=tz, created_at=NOW, **more)
    session.add(rep)
    session.flush()
    return rep


def _request(
    session: Session,
    rep: Rep,
    *,
    teammates: Sequence[tuple[str, str | None]] = (),
    prospect_tz: str | None = None,
) -> tuple[SchedulingRequest, list[SchedulingAttendee]]:
    request = SchedulingRequest(
        org_id="T1",
        rep_id=rep.id,
        ref="ACME-1",
        timezone=rep.timezone,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(request)
    session.flush()
    people = [
        SchedulingAttendee(
            org_id="T1",
            request_id=request.id,
            side="internal",
            organizer=True,
            email=rep.email,
            timezone=rep.timezone,
            created_at=NOW,
        ),
        *(
            SchedulingAttendee(
                org_id="T1",
                request_id=request.id,
                side="internal",
                email=email,
                timezone=tz,
                created_at=NOW,
            )
            for email, tz in teammates
        ),
        SchedulingAttendee(
            org_id="T1",
            request_id=request.id,
            side="external",
            email=PROSPECT,
            timezone=prospect_tz,
            created_at=NOW,
        ),
    ]
    session.add_all(people)
    session.flush()
    return request, people


def _query(
    session: Session,
    rep: Rep,
    request: SchedulingRequest,
    people: list[SchedulingAttendee],
    *,
    calendar: Calendar | None = None,
    window: tuple[datetime, datetime] = WEEK,
    **ports: Any,
) -> SlotQuery:
    step_ports = StepPorts(
        chat=cast(Any, None),
        cards=cast(Any, None),
        calendar_for=lambda org_id: cast(CalendarPort, calendar or Calendar()),
        llm_for=lambda org_id, rep_id: None,
        notices=cast(Any, None),
        mail_domain="convene.local",
        dm_per_hour_cap=6,
        **ports,
    )
    ctx = StepContext(session=session, ports=step_ports, now=NOW)
    start, end = window
    return slot_query(ctx, request=request, rep=rep, attendees=people, start=start, end=end)


def _by_email(query: SlotQuery) -> dict[str, Any]:
    return {a.email: a for a in query.attendees}


# --- holidays ---------------------------------------------------------------------------------


def test_christmas_day_is_a_holiday_for_a_new_york_rep_and_prospect(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    request, people = _request(session, rita)
    query = _query(session, rita, request, people)
    assert CHRISTMAS in _by_email(query)[RITA].holidays
    assert CHRISTMAS in query.prospect_holidays
    offered = find_slots(query)
    assert offered and all(s.start.astimezone(UTC).date() != CHRISTMAS for s in offered)
    # The same week without the holidays would have offered Christmas Day.
    bare = dataclasses.replace(
        query,
        attendees=[dataclasses.replace(a, holidays=()) for a in query.attendees],
        prospect_holidays=(),
    )
    assert any(s.start.astimezone(UTC).date() == CHRISTMAS for s in find_slots(bare))


def test_each_person_keeps_their_own_zones_country(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    request, people = _request(session, rita, teammates=[(OTTO, BERLIN)], prospect_tz=LONDON)
    later = (datetime(2026, 12, 24, 5, tzinfo=UTC), datetime(2026, 12, 31, 5, tzinfo=UTC))
    query = _query(session, rita, request, people, window=later)
    otto, ours = _by_email(query)[OTTO], _by_email(query)[RITA]
    assert BOXING_DAY in otto.holidays and BOXING_DAY not in ours.holidays
    # The UK moves Boxing Day that falls on a Saturday to the Monday; the US and Germany don't.
    assert BOXING_DAY_OBSERVED in query.prospect_holidays
    assert BOXING_DAY_OBSERVED not in otto.holidays | ours.holidays
    assert query.prospect_tz == LONDON


def test_holiday_country_setting_is_our_sides_country_not_the_prospects(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    request, people = _request(session, rita, teammates=[(OTTO, BERLIN)], prospect_tz=TOKYO)
    query = _query(session, rita, request, people, holiday_country="DE")
    assert BOXING_DAY in _by_email(query)[RITA].holidays
    assert BOXING_DAY in _by_email(query)[OTTO].holidays
    # Japan keeps neither Christmas nor Boxing Day.
    assert not {CHRISTMAS, BOXING_DAY} & set(query.prospect_holidays)


def test_a_prospect_of_no_known_zone_follows_the_requests_zone(session: Session) -> None:
    rita = _rep(session, RITA, "UTC")
    request, people = _request(session, rita)
    query = _query(session, rita, request, people)
    assert query.prospect_tz == "UTC"
    assert not query.prospect_holidays and not _by_email(query)[RITA].holidays


def test_zones_name_their_country_through_links_and_utc_names_none() -> None:
    assert zone_country(NY) == "US"
    assert zone_country("US/Eastern") == "US"  # an old name, a link to America/New_York
    assert zone_country("Asia/Calcutta") == "IN"
    assert zone_country(LONDON) == "GB"
    assert zone_country(BERLIN) == "DE"  # one country, though Norway keeps Berlin's clock
    assert zone_country("UTC") is None
    assert zone_country("Etc/GMT+5") is None


def test_holidays_between_reads_subdivisions_and_forgives_unknown_countries() -> None:
    week = (date(2027, 1, 4), date(2027, 1, 8))
    assert holidays_between("DE-BY", *week) == {date(2027, 1, 6)}  # Epiphany, Bavaria only
    assert holidays_between("DE", *week) == set()
    assert holidays_between("US", date(2026, 12, 31), date(2027, 1, 2)) == {date(2027, 1, 1)}
    assert holidays_between("XX", *week) == set()
    assert holidays_between(None, *week) == set()


def test_holiday_country_setting_is_checked_by_doctor() -> None:
    assert Settings(holiday_country=" de-by ").holiday_country == "DE-BY"
    assert Settings(holiday_country="").holiday_country is None
    assert country_error("US") is None
    errors = Settings(holiday_country="USA").config_errors()
    assert any(e.startswith("HOLIDAY_COUNTRY: 'USA' is not an ISO 3166") for e in errors), errors
    assert any("HOLIDAY_COUNTRY" in e for e in Settings(holiday_country="XX").config_errors())


# --- teammates' own hours and zones -----------------------------------------------------------


def test_teammates_keep_their_own_hours_and_zones_not_the_reps(session: Session) -> None:
    rita = _rep(session, RITA, NY, working_hours={str(d): ["07:00", "12:00"] for d in range(5)})
    _rep(session, OTTO, BERLIN, working_hours={str(d): ["10:00", "18:00"] for d in range(4)})
    request, people = _request(session, rita, teammates=[(OTTO, None), (SAM, TOKYO)])
    people_by = _by_email(_query(session, rita, request, people))
    assert people_by[RITA].tz == NY
    assert people_by[RITA].working_hours[0] == (time(7), time(12))
    # Otto is a rep here: his own settings, zone included, when the request didn't know it.
    assert people_by[OTTO].tz == BERLIN
    assert people_by[OTTO].working_hours == {d: (time(10), time(18)) for d in range(4)}
    # Sam isn't: office hours in Sam's own zone, not Rita's mornings.
    assert people_by[SAM].tz == TOKYO
    assert people_by[SAM].working_hours == default_working_hours()


def test_a_teammates_hours_decide_the_offered_times(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    # Otto works late Berlin afternoons: 16:00-18:00 CET is 10:00-12:00 in New York.
    _rep(session, OTTO, BERLIN, working_hours={str(d): ["16:00", "18:00"] for d in range(5)})
    request, people = _request(session, rita, teammates=[(OTTO, BERLIN)])
    offered = find_slots(_query(session, rita, request, people))
    assert offered
    for slot in offered:
        start, end = (
            moment.astimezone(ZoneInfo(BERLIN)).time() for moment in (slot.start, slot.end)
        )
        assert time(16) <= start and end <= time(18)


# --- buffers ----------------------------------------------------------------------------------


def test_the_buffer_between_meetings_comes_from_the_settings(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    request, people = _request(session, rita)
    # Busy Monday Dec 21 09:30-10:00 New York; the default would offer 09:00 (ending as it starts).
    busy = {
        RITA: [
            (datetime(2026, 12, 21, 14, 30, tzinfo=UTC), datetime(2026, 12, 21, 15, 0, tzinfo=UTC))
        ]
    }
    plain = _query(session, rita, request, people, calendar=Calendar(busy))
    assert plain.buffer == timedelta(0)
    kept = _query(
        session,
        rita,
        request,
        people,
        calendar=Calendar(busy),
        meeting_buffer=timedelta(minutes=15),
    )
    assert kept.buffer == timedelta(minutes=15)
    monday = datetime(2026, 12, 21, 14, 0, tzinfo=UTC)
    assert monday in {s.start for s in find_slots(plain)}
    ((_, ok, reason),) = check_slots([monday], kept)
    assert (ok, reason) == (False, f"too close to another meeting of {RITA}")


def test_buffer_setting_reaches_the_steps(stack: Any) -> None:
    from orchestrator.engine.runner import step_ports

    ports = step_ports(stack.deps)
    assert ports.meeting_buffer == timedelta(0) and ports.holiday_country is None
    settings = stack.deps.settings.model_copy(
        update={"meeting_buffer_minutes": 10, "holiday_country": "GB"}
    )
    stack.deps.settings = settings
    ports = step_ports(stack.deps)
    assert ports.meeting_buffer == timedelta(minutes=10) and ports.holiday_country == "GB"


# --- the prospect's zone ----------------------------------------------------------------------


def test_the_prospects_own_zone_is_what_the_finder_reads_times_in(session: Session) -> None:
    rita = _rep(session, RITA, NY)
    request, people = _request(session, rita, prospect_tz=TOKYO)
    query = _query(session, rita, request, people)
    assert query.prospect_tz == TOKYO
    # New York's working day is Tokyo's night: nothing is reasonable for both.
    assert find_slots(query) == []


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        (f"demo with {PROSPECT} in London next week", LONDON),
        (f"demo with {PROSPECT} next week in Europe/London 45m", LONDON),
        (f"demo with {PROSPECT} in europe/london", LONDON),
        (f"demo with {PROSPECT} in New York", NY),
        (f"demo with {PROSPECT} 1h in san francisco", "America/Los_Angeles"),
        (f"demo with {PROSPECT} in Tokyo tomorrow", TOKYO),
        (f"demo with {PROSPECT} next week", None),
    ],
)
def test_the_inline_command_names_the_prospects_zone(text: str, zone: str | None) -> None:
    command = parse_schedule(text, now=NOW, tz=NY)
    assert command.prospect_timezone == zone
    # The place words are not read as anything else.
    assert command.emails == (PROSPECT,)


def test_an_unknown_place_is_an_error_not_a_guess() -> None:
    with pytest.raises(CommandError, match="time zone of `Narnia`"):
        parse_schedule(f"demo with {PROSPECT} in Narnia", now=NOW, tz=NY)


def test_the_form_asks_where_they_are_and_keeps_it_on_edit() -> None:
    base = {
        "guests": {"guests": {"value": PROSPECT}},
        "window_start": {"window_start": {"selected_date": "2026-12-21"}},
        "window_end": {"window_end": {"selected_date": "2026-12-24"}},
    }
    told = read_submission(
        base | {"prospect_zone": {"prospect_zone": {"value": " london "}}}, now=NOW, tz=NY
    )
    assert told.command is not None and told.command.prospect_timezone == LONDON
    unsaid = read_submission(base, now=NOW, tz=NY)
    assert unsaid.command is not None and unsaid.command.prospect_timezone is None
    wrong = read_submission(
        base | {"prospect_zone": {"prospect_zone": {"value": "Narnia"}}}, now=NOW, tz=NY
    )
    assert wrong.command is None and "Narnia" in wrong.errors["prospect_zone"]
    view = new_request_view(today=NOW.date(), prefill=told.command, tz=NY)
    (field,) = [b for b in view["blocks"] if b.get("block_id") == "prospect_zone"]
    assert field["element"]["initial_value"] == LONDON


def test_the_confirm_card_shows_their_zone() -> None:
    command = parse_schedule(f"demo with {PROSPECT} in London", now=NOW, tz=NY)
    pending = PendingStart(text="", read_at=NOW, tz=NY, trigger_id="1.2")
    summary, blocks = confirm_card(command, pending)
    assert "*Their time zone:* Europe/London" in str(blocks)


def test_cards_write_a_meeting_in_the_reps_clock_and_the_prospects() -> None:
    tuesday = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    assert meeting_when(tuesday, rep_tz=NY, prospect_tz=LONDON) == (
        "Tue Dec 8, 9:00 AM EST (2:00 PM GMT for them)"
    )
    assert meeting_when(tuesday, rep_tz=NY, prospect_tz=NY) == "Tue Dec 8, 9:00 AM EST"
    evening = datetime(2026, 12, 8, 22, 0, tzinfo=UTC)
    assert meeting_when(evening, rep_tz=NY, prospect_tz=TOKYO) == (
        "Tue Dec 8, 5:00 PM EST (Wed 7:00 AM JST for them)"
    )
