"""Google Calendar behind CalendarPort (google-api-python-client + google-auth).

- free/busy: one ``freeBusy.query`` for up to 50 calendars (Google's per-call limit), asked with
  the credentials of the first email we hold a token for (colleagues in the same Workspace share
  free/busy with each other).
- create: ``events.insert`` with an event id *we* choose, derived from our id, so a retried
  insert after a lost answer gets 409 and we read the existing event instead of making two.
  Attendees are notified (``sendUpdates=all``); Meet rooms via ``conferenceData.createRequest``.
- update/cancel: ``events.patch`` / ``events.delete`` on that same id, attendees notified.
- errors: a dead refresh token -> ReconnectRequired (tell the rep, never retry); HTTP errors
  by :func:`connectors.http_errors.error_for`, 409 being our own id taken (DuplicateEventId);
  timeouts -> TransientError.
  Every HTTP call, token refreshes included, has a timeout and no library-level retries: the
  orchestrator owns retrying.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.oauth2.credentials import Credentials
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.calendar.free_busy import asker_and_batches, utc
from connectors.clock import SystemClock
from connectors.credentials import CredentialStore, StoredCredential, rep_id_for_email
from connectors.errors import EventNotFound, PermanentError, ReconnectRequired
from connectors.google_runtime import execute, google_service
from connectors.oauth import GOOGLE_TOKEN_URL
from connectors.ports import CalendarEvent, Clock, CreatedEvent, Interval

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
FREEBUSY_MAX_CALENDARS = 50
_RESPONSES = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentative",
    "needsAction": "needs_action",
}
# Calendar also answers 403 for refusals a new grant cannot fix (forbiddenForNonOrganizer), so
# only these 403s ask the rep to reconnect.
_SCOPE_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}


def google_event_id(event_id: str) -> str:
    """Our id as a valid Google event id (base32hex a–v0–9, 5–1024 chars), deterministically,
    so every retry of one create names the same event."""
    digest = hashlib.sha256(event_id.encode()).digest()
    return "cv" + base64.b32hexencode(digest).decode().rstrip("=").lower()


def _iso(value: datetime) -> str:
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class DuplicateEventId(PermanentError):
    """409: an event with our chosen id exists (an earlier attempt of this create landed)."""


class GoogleCalendar:
    """``credentials_for(email)`` returns that person's google-auth ``Credentials`` (or None
    when they never connected); ``on_refresh(email, credentials)`` is told when google-auth
    refreshed the access token so the new one can be stored."""

    # Every write passes ``sendUpdates=all``: Google emails the attendees itself.
    sends_invites = True

    def __init__(
        self,
        credentials_for: Callable[[str], Credentials | None],
        *,
        api_endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_refresh: Callable[[str, Credentials], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``clock`` dates a Retry-After given as an HTTP-date (the system clock by default)."""
        self._clock = clock or SystemClock()
        self._credentials_for = credentials_for
        self._api_endpoint = api_endpoint
        self._timeout = timeout
        self._on_refresh = on_refresh

    # --- plumbing -------------------------------------------------------------------------

    def _credentials(self, email: str) -> Credentials:
        credentials = self._credentials_for(email.lower())
        if credentials is None:
            raise ReconnectRequired(f"{email} has not connected a Google calendar")
        return credentials

    def _call(self, email: str, what: str, make: Callable[[Any], Any]) -> Any:
        credentials = self._credentials(email)
        service = google_service(
            "calendar", "v3", credentials, timeout=self._timeout, endpoint=self._api_endpoint
        )
        on_refresh = self._on_refresh

        def refreshed() -> None:
            if on_refresh is not None:
                on_refresh(email.lower(), credentials)

        return execute(
            make(service),
            credentials=credentials,
            label="google calendar",
            what=what,
            clock=self._clock,
            refreshed=refreshed,
            scope_codes=_SCOPE_REASONS,
            conflict=DuplicateEventId,
        )

    # --- CalendarPort ---------------------------------------------------------------------

    def free_busy(
        self, *, emails: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Interval]]:
        """Busy per email. A calendar Google will not show us (not shared, unknown) is left out
        of the answer rather than reported free, so callers can tell "free" from "unknown"."""
        asker, batches = asker_and_batches(
            emails,
            connected=lambda e: self._credentials_for(e) is not None,
            provider="Google Calendar",
            per_call=FREEBUSY_MAX_CALENDARS,
        )
        busy: dict[str, list[Interval]] = {}
        for chunk in batches:
            body: dict[str, Any] = {
                "timeMin": _iso(start),
                "timeMax": _iso(end),
                "timeZone": "UTC",
                "items": [{"id": email} for email in chunk],
            }

            def query(service: Any, body: dict[str, Any] = body) -> Any:
                return service.freebusy().query(body=body)

            answer = self._call(asker, "read free/busy", query)
            calendars = {k.lower(): v for k, v in answer.get("calendars", {}).items()}
            for email in chunk:
                entry = calendars.get(email)
                if entry is None or entry.get("errors"):
                    log.warning("google free/busy unavailable for %s: %s", email, entry)
                    continue
                busy[email] = sorted(
                    (Interval(_parse(b["start"]), _parse(b["end"])) for b in entry.get("busy", [])),
                    key=lambda i: (i.start, i.end),
                )
        return busy

    def create_event(self, event: CalendarEvent) -> CreatedEvent:
        gid = google_event_id(event.event_id)
        body = self._body(event)
        body["id"] = gid
        body["extendedProperties"] = {"private": {"convene_event_id": event.event_id}}
        try:
            created = self._call(
                event.organizer,
                "create the event",
                lambda s: s.events().insert(
                    calendarId=event.organizer,
                    body=body,
                    sendUpdates="all",
                    conferenceDataVersion=1,
                ),
            )
        except DuplicateEventId:
            # Our id is taken: an earlier attempt got through. Read it instead of making two.
            created = self.get_event(organizer=event.organizer, event_id=event.event_id)
            if created.get("status") == "cancelled":
                raise PermanentError(
                    f"event id for {event.event_id} belongs to a cancelled Google event"
                ) from None
        return CreatedEvent(event.event_id, _join_url(created))

    def update_event(self, event: CalendarEvent) -> None:
        body = self._body(event)
        self._call(
            event.organizer,
            "update the event",
            lambda s: s.events().patch(
                calendarId=event.organizer,
                eventId=google_event_id(event.event_id),
                body=body,
                sendUpdates="all",
                conferenceDataVersion=1,
            ),
        )

    def cancel_event(self, *, organizer: str, event_id: str) -> None:
        try:
            self._call(
                organizer,
                "cancel the event",
                lambda s: s.events().delete(
                    calendarId=organizer, eventId=google_event_id(event_id), sendUpdates="all"
                ),
            )
        except EventNotFound:
            return  # already gone (404) or already deleted (410): the cancel has happened

    def attendee_responses(self, *, organizer: str, event_id: str) -> Mapping[str, str]:
        found = self.get_event(organizer=organizer, event_id=event_id)
        return {
            str(a["email"]).lower(): _RESPONSES.get(a.get("responseStatus", ""), "needs_action")
            for a in found.get("attendees", [])
            if not a.get("organizer") and not a.get("resource") and a.get("email")
        }

    # --- helpers --------------------------------------------------------------------------

    def get_event(self, *, organizer: str, event_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call(
            organizer,
            "read the event",
            lambda s: s.events().get(calendarId=organizer, eventId=google_event_id(event_id)),
        )
        return found

    @staticmethod
    def _body(event: CalendarEvent) -> dict[str, Any]:
        body: dict[str, Any] = {
            "summary": event.title,
            "description": event.description,
            "location": event.location,
            "start": {"dateTime": _iso(event.start), "timeZone": "UTC"},
            "end": {"dateTime": _iso(event.end), "timeZone": "UTC"},
            "attendees": [
                {"email": a.email, "displayName": a.name, "optional": a.optional}
                for a in event.attendees
            ],
        }
        if event.conference == "google_meet":
            body["conferenceData"] = {
                "createRequest": {
                    # Same request id on every retry and patch: Google makes one room.
                    "requestId": google_event_id(event.event_id),
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            }
        elif event.conference is not None:
            raise PermanentError(f"Google Calendar cannot create a {event.conference} meeting")
        return body


def _join_url(event: Mapping[str, Any]) -> str | None:
    if link := event.get("hangoutLink"):
        return str(link)
    for entry in event.get("conferenceData", {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return str(entry["uri"])
    return None  # none asked for, or Google still creating it (createRequest pending)


# --- credentials from the store ---------------------------------------------------------------


def _system_now() -> datetime:
    return datetime.now(UTC)


def google_credentials(
    token: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str,
    expires_at: datetime | None,
    now: datetime,
    token_uri: str = GOOGLE_TOKEN_URL,
) -> Credentials:
    """google-auth's Credentials for a stored token that our clock says expires at `expires_at`.

    google-auth judges expiry by the system clock, not ours; it is handed the same remaining
    lifetime on its own clock. (Both clocks agree in production; in tests ours is set by hand.)
    """
    expiry = None
    if expires_at is not None:
        # google-auth compares expiry against naive UTC.
        expiry = (_system_now() + (expires_at - now)).replace(tzinfo=None)
    return Credentials(
        token=token.get("access_token"),
        refresh_token=token.get("refresh_token"),
        token_uri=token_uri,
        client_id=client_id,
        client_secret=client_secret,
        expiry=expiry,
    )


class StoredGoogleAccounts:
    """Resolves an email to its rep's stored Google token (``credentials_for``) and writes a
    refreshed access token back (``on_refresh``), so each worker does not refresh every call."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        store: CredentialStore,
        org_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        token_uri: str = GOOGLE_TOKEN_URL,
    ) -> None:
        self._sessions = session_factory
        self._store = store
        self._org_id = org_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._token_uri = token_uri

    def _rep_id(self, email: str) -> uuid.UUID | None:
        return rep_id_for_email(self._sessions, org_id=self._org_id, email=email)

    def credentials_for(self, email: str) -> Credentials | None:
        rep_id = self._rep_id(email)
        if rep_id is None:
            return None
        stored = self._store.load(org_id=self._org_id, rep_id=rep_id, provider="google")
        return None if stored is None else self.credentials(stored)

    def credentials(self, stored: StoredCredential) -> Credentials:
        """A stored grant as google-auth credentials under this app's OAuth client."""
        return google_credentials(
            stored.token,
            client_id=self._client_id,
            client_secret=self._client_secret,
            expires_at=stored.expires_at,
            now=self._clock.now(),
            token_uri=self._token_uri,
        )

    def on_refresh(self, email: str, credentials: Credentials) -> None:
        rep_id = self._rep_id(email)
        stored = (
            self._store.load(org_id=self._org_id, rep_id=rep_id, provider="google")
            if rep_id
            else None
        )
        if rep_id is None or stored is None:
            return
        token = dict(stored.token, access_token=credentials.token)
        if credentials.refresh_token:
            token["refresh_token"] = credentials.refresh_token
        now = self._clock.now()
        expiry = None
        if credentials.expiry is not None:  # set by google-auth on the system clock
            expiry = now + (credentials.expiry.replace(tzinfo=UTC) - _system_now())
        self._store.save(
            org_id=self._org_id,
            rep_id=rep_id,
            provider="google",
            token=token,
            scopes=stored.scopes,
            expires_at=expiry,
            now=now,
        )
