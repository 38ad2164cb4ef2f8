"""A local Google Calendar v3 (and its token endpoint) that checks what the client sends.

It keeps events per calendar, enforces bearer tokens (401 with Google's error body), refreshes
tokens at ``/token`` (``invalid_grant`` once revoked), and answers like Google does: 409
``duplicate`` for a reused event id, 404 for unknown ids, 410 for an already deleted event,
``notFound`` per calendar in freeBusy for calendars it does not know. Shape checks fail the
request with a 400 whose message says what was wrong, so a test sees it as a PermanentError.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

from tests.fakes.http import ProviderFake, Request, Response

EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
API = "/calendar/v3"


def google_error(status: int, message: str, reason: str, state: str = "") -> Response:
    body: dict[str, Any] = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }
    if state:
        body["error"]["status"] = state
    return Response(status, body)


class ShapeError(Exception):
    pass


def need(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def _time(value: Any, field: str) -> datetime:
    need(isinstance(value, dict) and "dateTime" in value, f"{field}.dateTime is required")
    parsed = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    need(parsed.tzinfo is not None, f"{field}.dateTime needs an offset")
    return parsed


class FakeGoogleCalendar(ProviderFake):
    def __init__(self) -> None:
        super().__init__()
        self.valid_tokens: set[str] = {"ya29.valid"}
        self.refresh_tokens: dict[str, bool] = {"1//refresh": True}
        # calendar id -> list of (start, end) busy times; calendars not listed are unknown.
        self.busy: dict[str, list[tuple[str, str]]] = {}
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self._serial = itertools.count(1)

    # --- helpers for tests ----------------------------------------------------------------

    def event(self, calendar: str, event_id: str) -> dict[str, Any]:
        return self.events[(calendar, event_id)]

    def respond(self, calendar: str, event_id: str, email: str, status: str) -> None:
        for attendee in self.events[(calendar, event_id)]["attendees"]:
            if attendee["email"] == email:
                attendee["responseStatus"] = status

    # --- routing --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/token" and request.method == "POST":
            return self._token(request.body or {})
        if not request.path.startswith(API + "/"):
            return google_error(404, "Not Found", "notFound")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.valid_tokens:
            return google_error(
                401,
                "Request had invalid authentication credentials.",
                "authError",
                "UNAUTHENTICATED",
            )
        path = request.path[len(API) :]
        try:
            if path == "/freeBusy" and request.method == "POST":
                return self._freebusy(request)
            match = re.fullmatch(r"/calendars/([^/]+)/events(?:/([^/]+))?", path)
            if match is None:
                return google_error(404, "Not Found", "notFound")
            calendar, event_id = match.group(1), match.group(2)
            if event_id is None and request.method == "POST":
                return self._insert(calendar, request)
            if event_id is not None and request.method == "GET":
                return self._get(calendar, event_id)
            if event_id is not None and request.method == "PATCH":
                return self._patch(calendar, event_id, request)
            if event_id is not None and request.method == "DELETE":
                return self._delete(calendar, event_id, request)
            return google_error(405, "Method not allowed", "badRequest")
        except ShapeError as error:
            return google_error(400, str(error), "invalid")

    def _token(self, form: dict[str, str]) -> Response:
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"})
        if not self.refresh_tokens.get(form.get("refresh_token", "")):
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = f"ya29.refreshed-{next(self._serial)}"
        self.valid_tokens.add(token)
        return Response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _freebusy(self, request: Request) -> Response:
        body = request.body
        need(isinstance(body, dict), "JSON body required")
        start, end = (
            _time({"dateTime": body.get("timeMin")}, "timeMin"),
            _time({"dateTime": body.get("timeMax")}, "timeMax"),
        )
        need(start < end, "timeMin must be before timeMax")
        items = body.get("items")
        need(isinstance(items, list) and 0 < len(items) <= 50, "1 to 50 items required")
        need(all(set(i) == {"id"} for i in items), "each item is {'id': calendar}")
        calendars: dict[str, Any] = {}
        for item in items:
            calendar = item["id"]
            if calendar not in self.busy:
                calendars[calendar] = {
                    "errors": [{"domain": "global", "reason": "notFound"}],
                    "busy": [],
                }
                continue
            calendars[calendar] = {
                "busy": [
                    {"start": s, "end": e}
                    for s, e in self.busy[calendar]
                    if _time({"dateTime": s}, "s") < end and _time({"dateTime": e}, "e") > start
                ]
            }
        return Response(
            200,
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            },
        )

    def _insert(self, calendar: str, request: Request) -> Response:
        body = request.body
        need(isinstance(body, dict), "JSON body required")
        need(request.param("sendUpdates") == "all", "sendUpdates=all expected")
        event_id = body.get("id")
        need(isinstance(event_id, str) and bool(EVENT_ID.match(event_id)), "invalid event id")
        need(_time(body.get("start"), "start") < _time(body.get("end"), "end"), "end before start")
        attendees = body.get("attendees", [])
        need(all("@" in a.get("email", "") for a in attendees), "attendee email required")
        if (calendar, event_id) in self.events:
            return google_error(409, "The requested identifier already exists.", "duplicate")
        event = dict(body)
        event.update(
            status="confirmed",
            htmlLink=f"https://calendar.example/event?eid={event_id}",
            organizer={"email": calendar, "self": True},
            sequence=0,
            attendees=[dict(a, responseStatus="needsAction") for a in attendees],
        )
        create = body.get("conferenceData", {}).get("createRequest")
        if create is not None:
            need(request.param("conferenceDataVersion") == "1", "conferenceDataVersion=1 needed")
            need(
                create.get("conferenceSolutionKey") == {"type": "hangoutsMeet"},
                "hangoutsMeet expected",
            )
            need(bool(create.get("requestId")), "createRequest.requestId required")
            link = f"https://meet.google.com/fak-{event_id[2:6]}-xyz"
            event["hangoutLink"] = link
            event["conferenceData"] = {
                "createRequest": dict(create, status={"statusCode": "success"}),
                "entryPoints": [{"entryPointType": "video", "uri": link}],
                "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
                "conferenceId": f"fak-{event_id[2:6]}-xyz",
            }
        self.events[(calendar, event_id)] = event
        return Response(200, event)

    def _get(self, calendar: str, event_id: str) -> Response:
        event = self.events.get((calendar, event_id))
        if event is None:
            return google_error(404, "Not Found", "notFound")
        return Response(200, event)

    def _patch(self, calendar: str, event_id: str, request: Request) -> Response:
        need(request.param("sendUpdates") == "all", "sendUpdates=all expected")
        event = self.events.get((calendar, event_id))
        if event is None:
            return google_error(404, "Not Found", "notFound")
        if event["status"] == "cancelled":
            return google_error(410, "Resource has been deleted", "deleted")
        body = request.body
        need(isinstance(body, dict), "JSON body required")
        if "start" in body or "end" in body:
            start = _time(body.get("start", event["start"]), "start")
            need(start < _time(body.get("end", event["end"]), "end"), "end before start")
        previous = {a["email"]: a.get("responseStatus", "needsAction") for a in event["attendees"]}
        for key, value in body.items():
            if key == "conferenceData":
                continue  # same requestId: the existing room stays
            if key == "attendees":
                value = [
                    dict(a, responseStatus=previous.get(a["email"], "needsAction")) for a in value
                ]
            event[key] = value
        event["sequence"] += 1
        return Response(200, event)

    def _delete(self, calendar: str, event_id: str, request: Request) -> Response:
        need(request.param("sendUpdates") == "all", "sendUpdates=all expected")
        event = self.events.get((calendar, event_id))
        if event is None:
            return google_error(404, "Not Found", "notFound")
        if event["status"] == "cancelled":
            return google_error(410, "Resource has been deleted", "deleted")
        event["status"] = "cancelled"
        return Response(204, None)
