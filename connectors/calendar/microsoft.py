"""Microsoft 365 calendars behind CalendarPort (msgraph-sdk over Microsoft Graph).

- free/busy: ``getSchedule`` for many mailboxes per call, with working hours (``availability``
  also returns them for the slot finder); statuses go through the shared busy rule, so
  tentative follows the same setting as every other calendar.
- create: Teams meeting via ``isOnlineMeeting`` + ``teamsForBusiness``; ``transactionId``
  derived from our id makes Graph return the first event when a create is retried. Our id is
  also stored as a single-value extended property, which is how update/cancel/responses find
  the Graph event again without a column of provider ids.
- errors: Graph's, read by :func:`connectors.graph_runtime.graph_error`; 404 -> EventNotFound.

The SDK runs on a private event loop (:class:`connectors.graph_runtime.LoopThread`). Graph's
retry middleware is kept to one quick retry: the orchestrator owns backoff.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
    CancelPostRequestBody,
)
from msgraph_core import GraphClientFactory
from tzlocal.windows_tz import win_tz

from connectors.calendar.free_busy import asker_and_batches, utc
from connectors.clock import SystemClock
from connectors.errors import EventNotFound, PermanentError, ReconnectRequired, TransientError
from connectors.graph_runtime import GRAPH_URL, LoopThread, graph_error
from connectors.ports import CalendarEvent, Clock, CreatedEvent, Interval
from skills.calendar_busy import counts_as_busy, show_as_availability

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
SCHEDULES_PER_CALL = 20
# A named MAPI string property in the PS_PUBLIC_STRINGS set: where our event id lives.
EVENT_ID_PROPERTY = "String {00020329-0000-0000-C000-000000000046} Name ConveneEventId"
_TRANSACTION_NS = uuid.UUID("5b0c3a4e-8f0e-4b5e-9d55-6b8f0f1c2a77")
_UTC_PREFER = 'outlook.timezone="UTC"'
_RESPONSES = {
    "accepted": "accepted",
    "declined": "declined",
    "tentativelyAccepted": "tentative",
    "none": "needs_action",
    "notResponded": "needs_action",
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def iana_zone(name: str | None) -> str | None:
    """Graph names working-hours zones the Windows way ("Pacific Standard Time"); the slot
    finder needs IANA. CLDR's windowsZones table, as tzlocal ships it, maps all of them; a name
    that is already IANA passes; anything else is None (the caller falls back to the rep's)."""
    if not name:
        return None
    if name in ("UTC", "Coordinated Universal Time"):
        return "UTC"
    if mapped := win_tz.get(name):
        return str(mapped)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def transaction_id(event_id: str) -> str:
    """Graph's idempotency key for a create: stable per our id, in a plain GUID format."""
    return str(uuid.uuid5(_TRANSACTION_NS, event_id))


@dataclass(frozen=True)
class Availability:
    busy: Sequence[Interval]
    # weekday (Monday 0) -> (start, end) in ``timezone``; empty when Graph did not say.
    working_hours: Mapping[int, tuple[time, time]]
    timezone: str | None


# --- conversions ------------------------------------------------------------------------------


def _graph_time(value: datetime) -> DateTimeTimeZone:
    return DateTimeTimeZone(date_time=utc(value).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC")


def _parse_graph_time(value: DateTimeTimeZone | None) -> datetime:
    if value is None or not value.date_time:
        raise PermanentError("Graph returned an item without a time")
    if (value.time_zone or "UTC").upper() not in ("UTC", "COORDINATED UNIVERSAL TIME"):
        raise PermanentError(f"Graph ignored the UTC preference ({value.time_zone})")
    text = value.date_time.rstrip("Z")
    whole, _, fraction = text.partition(".")
    parsed = datetime.fromisoformat(whole).replace(tzinfo=UTC)
    # Graph writes 7 fractional digits; Python takes 6 at most.
    return parsed + timedelta(microseconds=int((fraction + "000000")[:6])) if fraction else parsed


def _working_hours(info: Any) -> tuple[dict[int, tuple[time, time]], str | None]:
    hours = getattr(info, "working_hours", None)
    if hours is None or hours.start_time is None or hours.end_time is None:
        return {}, None
    days = {
        _WEEKDAYS.index(str(getattr(d, "value", d)))
        for d in hours.days_of_week or []
        if str(getattr(d, "value", d)) in _WEEKDAYS
    }
    name = hours.time_zone.name if hours.time_zone is not None else None
    zone = iana_zone(name)
    return {d: (hours.start_time, hours.end_time) for d in sorted(days)}, zone


def _escape(value: str) -> str:
    return value.replace("'", "''")


# --- the adapter ------------------------------------------------------------------------------


class MicrosoftCalendar:
    """``credential_for(email)`` returns an azure-core ``TokenCredential`` for that person's
    mailbox (or None when they never connected)."""

    # Exchange sends the meeting requests, updates and cancellations from the organizer's mailbox.
    sends_invites = True

    def __init__(
        self,
        credential_for: Callable[[str], Any | None],
        *,
        base_url: str = GRAPH_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 1,
        tentative_is_busy: bool = True,
        interval_minutes: int = 15,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` dates a Retry-After given as an HTTP-date (the system clock by default)."""
        self._credential_for = credential_for
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._max_retries = max_retries
        self._tentative_is_busy = tentative_is_busy
        self._interval = interval_minutes
        self._clock = clock or SystemClock()
        self._runner = LoopThread("graph-loop")
        self._graph_ids: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        self._runner.close()

    # --- plumbing -------------------------------------------------------------------------

    def _run(self, email: str, what: str, call: Callable[[GraphServiceClient], Awaitable[T]]) -> T:
        credential = self._credential_for(email.lower())
        if credential is None:
            raise ReconnectRequired(f"{email} has not connected a Microsoft 365 calendar")

        async def go() -> T:
            http = GraphClientFactory.create_with_default_middleware(
                client=httpx.AsyncClient(timeout=httpx.Timeout(self._timeout)),
                options={
                    RetryHandlerOption.RETRY_HANDLER_OPTION_KEY: RetryHandlerOption(
                        delay=0.0, max_retries=self._max_retries
                    )
                },
            )
            adapter = GraphRequestAdapter(
                AzureIdentityAuthenticationProvider(credential), client=http
            )
            adapter.base_url = self._base_url
            try:
                return await call(GraphServiceClient(request_adapter=adapter))
            finally:
                await http.aclose()

        # The middleware may retry once after Retry-After; allow for it, then give up.
        deadline = self._timeout * (self._max_retries + 1) + 5.0
        try:
            return self._runner.run(go(), timeout=deadline, what=what)
        except BaseException as error:
            mapped = graph_error(error, what, now=self._clock.now())
            if mapped is error:
                raise
            raise mapped from None

    @staticmethod
    def _utc_config() -> RequestConfiguration[Any]:
        config: RequestConfiguration[Any] = RequestConfiguration()
        config.headers.add("Prefer", _UTC_PREFER)
        return config

    # --- availability ---------------------------------------------------------------------

    def availability(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Availability]:
        """Busy times and working hours per mailbox. Mailboxes Graph cannot read for us are
        left out (unknown is not free)."""
        asker, batches = asker_and_batches(
            emails,
            connected=lambda e: self._credential_for(e) is not None,
            provider="Microsoft 365",
            per_call=SCHEDULES_PER_CALL,
        )
        found: dict[str, Availability] = {}
        for chunk in batches:
            body = GetSchedulePostRequestBody(
                schedules=chunk,
                start_time=_graph_time(start),
                end_time=_graph_time(end),
                availability_view_interval=self._interval,
            )

            async def ask(graph: GraphServiceClient, body: Any = body) -> Any:
                return await graph.users.by_user_id(asker).calendar.get_schedule.post(
                    body, request_configuration=self._utc_config()
                )

            answer = self._run(asker, "read free/busy", ask)
            for info in (answer.value if answer is not None else None) or []:
                email = (info.schedule_id or "").lower()
                if email not in chunk:
                    continue
                if info.error is not None:
                    log.warning("graph schedule unavailable for %s: %s", email, info.error.message)
                    continue
                busy = [
                    Interval(_parse_graph_time(item.start), _parse_graph_time(item.end))
                    for item in info.schedule_items or []
                    if counts_as_busy(
                        show_as_availability(getattr(item.status, "value", None)),
                        tentative_is_busy=self._tentative_is_busy,
                    )
                ]
                hours, zone = _working_hours(info)
                found[email] = Availability(
                    busy=sorted(busy, key=lambda i: (i.start, i.end)),
                    working_hours=hours,
                    timezone=zone,
                )
        return found

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        return {
            email: found.busy
            for email, found in self.availability(emails=emails, start=start, end=end).items()
        }

    # --- events ---------------------------------------------------------------------------

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        body = self._event(event)
        body.transaction_id = transaction_id(event.event_id)
        body.single_value_extended_properties = [
            SingleValueLegacyExtendedProperty(id=EVENT_ID_PROPERTY, value=event.event_id)
        ]
        organizer = event.organizer.lower()

        async def create(graph: GraphServiceClient) -> Event | None:
            return await graph.users.by_user_id(organizer).events.post(
                body, request_configuration=self._utc_config()
            )

        created = self._run(organizer, "create the event", create)
        if created is None or not created.id:
            raise TransientError("Graph accepted the event but returned no id")
        if created.is_cancelled:
            raise PermanentError(f"event {event.event_id} was cancelled in Microsoft 365")
        self._graph_ids[(organizer, event.event_id)] = created.id
        join = created.online_meeting.join_url if created.online_meeting else None
        return CreatedEvent(event.event_id, join)

    def update_event(self, event: CalendarEvent) -> None:
        organizer = event.organizer.lower()
        graph_id = self._graph_id(organizer, event.event_id)
        if graph_id is None:
            raise EventNotFound(f"no event {event.event_id} in {organizer}'s Microsoft calendar")
        body = self._event(event)

        async def patch(graph: GraphServiceClient) -> Any:
            return (
                await graph.users.by_user_id(organizer)
                .events.by_event_id(graph_id)
                .patch(body, request_configuration=self._utc_config())
            )

        # Graph sends the organizer's change to every attendee by itself.
        self._run(organizer, "update the event", patch)

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        organizer = organizer.lower()
        graph_id = self._graph_id(organizer, event_id)
        if graph_id is None:
            return  # never made, or already cancelled (Outlook removes it): nothing to do

        async def cancel(graph: GraphServiceClient) -> None:
            await (
                graph.users.by_user_id(organizer)
                .events.by_event_id(graph_id)
                .cancel.post(CancelPostRequestBody(comment="This meeting has been cancelled."))
            )

        with contextlib.suppress(EventNotFound):  # gone between the lookup and the cancel
            self._run(organizer, "cancel the event", cancel)
        self._graph_ids.pop((organizer, event_id), None)

    def attendee_responses(self, *, organizer: str, event_id: str) -> Mapping[str, str]:
        organizer = organizer.lower()
        found = self._find(organizer, event_id)
        if found is None:
            raise EventNotFound(f"no event {event_id} in {organizer}'s Microsoft calendar")
        answers: dict[str, str] = {}
        for attendee in found.attendees or []:
            address = attendee.email_address.address if attendee.email_address else None
            if not address or address.lower() == organizer:
                continue
            raw = attendee.status.response if attendee.status is not None else None
            value = str(getattr(raw, "value", raw or "none"))
            if value == "organizer":
                continue
            answers[address.lower()] = _RESPONSES.get(value, "needs_action")
        return answers

    # --- helpers --------------------------------------------------------------------------

    def _find(self, organizer: str, event_id: str) -> Event | None:
        """The Graph event carrying our id (one $filter on the extended property)."""
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=(
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{EVENT_ID_PROPERTY}' "
                f"and ep/value eq '{_escape(event_id)}')"
            ),
            select=["id", "attendees", "isCancelled"],
        )

        async def search(graph: GraphServiceClient) -> Any:
            config: RequestConfiguration[Any] = RequestConfiguration(query_parameters=query)
            config.headers.add("Prefer", _UTC_PREFER)
            return await graph.users.by_user_id(organizer).events.get(request_configuration=config)

        answer = self._run(organizer, "find the event", search)
        events = [e for e in (answer.value if answer else None) or [] if not e.is_cancelled]
        if not events:
            return None
        if events[0].id:
            self._graph_ids[(organizer, event_id)] = events[0].id
        first: Event = events[0]
        return first

    def _graph_id(self, organizer: str, event_id: str) -> str | None:
        cached = self._graph_ids.get((organizer, event_id))
        if cached is not None:
            return cached
        found = self._find(organizer, event_id)
        return found.id if found is not None else None

    @staticmethod
    def _event(event: CalendarEvent) -> Event:
        if event.conference not in (None, "teams"):
            raise PermanentError(f"Microsoft 365 cannot create a {event.conference} meeting")
        body = Event(
            subject=event.title,
            body=ItemBody(content_type=BodyType.Text, content=event.description),
            start=_graph_time(event.start),
            end=_graph_time(event.end),
            attendees=[
                Attendee(
                    email_address=EmailAddress(address=a.email, name=a.name or None),
                    type=AttendeeType.Optional if a.optional else AttendeeType.Required,
                )
                for a in event.attendees
            ],
        )
        if event.location:
            body.location = Location(display_name=event.location)
        if event.conference == "teams":
            body.is_online_meeting = True
            body.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
        return body
