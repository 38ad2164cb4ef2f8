"""A local Microsoft Graph (v1.0) calendar that checks what msgraph-sdk sends.

getSchedule action bodies arrive PascalCase from the SDK (real Graph accepts any case), so keys
are compared case-insensitively; event bodies are camelCase. Creates honour ``transactionId``
(a repeat returns the first event), events carry our id in a single-value extended property
that ``$filter`` can find, ``cancel`` removes the event from the organizer's calendar like
Outlook does. Errors use Graph's JSON: 401 InvalidAuthenticationToken, 404 ErrorItemNotFound,
429 with Retry-After, 5xx. A malformed request gets 400 ErrorInvalidRequest naming the problem.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.http import ProviderFake, Request, Response

API = "/v1.0"


def graph_error(
    status: int, code: str, message: str = "", headers: dict[str, str] | None = None
) -> Response:
    return Response(status, {"error": {"code": code, "message": message or code}}, headers or {})


class ShapeError(Exception):
    pass


def need(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def lower_keys(value: Any) -> Any:
    """Graph reads action parameters case-insensitively; so does the fake."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def _utc_time(value: Any, field: str) -> str:
    need(isinstance(value, dict), f"{field} must be a dateTimeTimeZone")
    need(value.get("timeZone") == "UTC", f"{field}.timeZone must be UTC")
    need(
        bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value.get("dateTime", ""))),
        f"{field}.dateTime",
    )
    return str(value["dateTime"])


def _graph_time(text: str) -> dict[str, str]:
    return {"dateTime": text + ".0000000", "timeZone": "UTC"}


class FakeGraphCalendar(ProviderFake):
    def __init__(self) -> None:
        super().__init__()
        self.valid_tokens: set[str] = {"graph-token"}
        # mailbox -> list of (status, start, end) with "YYYY-MM-DDTHH:MM:SS" UTC strings.
        self.schedule: dict[str, list[tuple[str, str, str]]] = {}
        self.working_hours: dict[str, dict[str, Any]] = {}
        # mailbox -> graph id -> event
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        self._serial = itertools.count(1)

    def mailbox(self, user: str) -> dict[str, dict[str, Any]]:
        return self.events.setdefault(user.lower(), {})

    def only_event(self, user: str) -> dict[str, Any]:
        [event] = self.mailbox(user).values()
        return event

    def respond(self, user: str, email: str, response: str) -> None:
        for attendee in self.only_event(user)["attendees"]:
            if attendee["emailAddress"]["address"] == email:
                attendee["status"] = {"response": response, "time": "2026-12-01T10:00:00Z"}

    def handle(self, request: Request) -> Response:
        if not request.path.startswith(API + "/"):
            return graph_error(404, "BadRequest", "Invalid version")
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.valid_tokens:
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        path = request.path[len(API) :]
        try:
            match = re.fullmatch(r"/users/([^/]+)/calendar/getSchedule", path)
            if match and request.method == "POST":
                return self._schedule(request)
            match = re.fullmatch(r"/users/([^/]+)/events(?:/([^/]+))?(/cancel)?", path)
            if match is None:
                return graph_error(404, "ResourceNotFound", f"no route {path}")
            user, graph_id, cancel = match.group(1).lower(), match.group(2), match.group(3)
            if graph_id is None and request.method == "POST":
                return self._create(user, request)
            if graph_id is None and request.method == "GET":
                return self._list(user, request)
            if graph_id is not None and cancel and request.method == "POST":
                return self._cancel(user, graph_id, request)
            if graph_id is not None and request.method == "PATCH":
                return self._patch(user, graph_id, request)
            if graph_id is not None and request.method == "GET":
                event = self.mailbox(user).get(graph_id)
                return Response(200, event) if event else graph_error(404, "ErrorItemNotFound")
            return graph_error(405, "BadRequest", "method not allowed")
        except ShapeError as error:
            return graph_error(400, "ErrorInvalidRequest", str(error))

    def _schedule(self, request: Request) -> Response:
        need(request.headers.get("prefer") == 'outlook.timezone="UTC"', "Prefer UTC expected")
        body = lower_keys(request.body)
        need(isinstance(body, dict), "JSON body required")
        schedules = body.get("schedules")
        need(isinstance(schedules, list) and 0 < len(schedules) <= 20, "1 to 20 schedules")
        start = _utc_time(body.get("startTime"), "startTime")
        end = _utc_time(body.get("endTime"), "endTime")
        need(start < end, "startTime must be before endTime")
        need(isinstance(body.get("availabilityViewInterval"), int), "availabilityViewInterval")
        value = []
        for mailbox in schedules:
            if mailbox.lower() not in self.schedule:
                value.append(
                    {
                        "scheduleId": mailbox,
                        "availabilityView": "",
                        "error": {
                            "message": "The mailbox was not found.",
                            "responseCode": "ErrorMailboxNotFound",
                        },
                    }
                )
                continue
            items = [
                {
                    "status": status,
                    "start": _graph_time(s),
                    "end": _graph_time(e),
                    "isPrivate": False,
                }
                for status, s, e in self.schedule[mailbox.lower()]
                if s < end and e > start
            ]
            entry: dict[str, Any] = {
                "scheduleId": mailbox,
                "availabilityView": "0",
                "scheduleItems": items,
            }
            if mailbox.lower() in self.working_hours:
                entry["workingHours"] = self.working_hours[mailbox.lower()]
            value.append(entry)
        return Response(
            200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": value}
        )

    def _create(self, user: str, request: Request) -> Response:
        need(request.headers.get("prefer") == 'outlook.timezone="UTC"', "Prefer UTC expected")
        body = request.body
        need(isinstance(body, dict), "JSON body required")
        need(all(k[:1].islower() or k.startswith("@") for k in body), "event keys are camelCase")
        need(bool(body.get("subject")), "subject required")
        need(
            _utc_time(body.get("start"), "start") < _utc_time(body.get("end"), "end"),
            "end <= start",
        )
        for attendee in body.get("attendees", []):
            need("@" in attendee.get("emailAddress", {}).get("address", ""), "attendee address")
            need(attendee.get("type") in ("required", "optional"), "attendee type")
        if body.get("isOnlineMeeting"):
            need(
                body.get("onlineMeetingProvider") == "teamsForBusiness", "teamsForBusiness expected"
            )
        transaction = body.get("transactionId")
        for existing in self.mailbox(user).values():
            if transaction and existing.get("transactionId") == transaction:
                return Response(201, existing)  # Graph's idempotent create
        graph_id = f"AAMkAD-{next(self._serial)}"
        event = dict(body)
        event.update(
            id=graph_id,
            iCalUId=f"040000008200E00074C5B7101A82E008-{graph_id}",
            isCancelled=False,
            organizer={"emailAddress": {"address": user}},
            attendees=[
                dict(a, status={"response": "none", "time": "0001-01-01T00:00:00Z"})
                for a in body.get("attendees", [])
            ],
            start=_graph_time(body["start"]["dateTime"]),
            end=_graph_time(body["end"]["dateTime"]),
        )
        if body.get("isOnlineMeeting"):
            event["onlineMeeting"] = {
                "joinUrl": f"https://teams.microsoft.com/l/meetup-join/{graph_id}"
            }
        self.mailbox(user)[graph_id] = event
        return Response(201, event)

    def _list(self, user: str, request: Request) -> Response:
        query = request.param("$filter") or ""
        found = re.fullmatch(
            r"singleValueExtendedProperties/Any\(ep: ep/id eq '(.+?)' "
            r"and ep/value eq '((?:[^']|'')*)'\)",
            query,
        )
        need(found is not None, f"unsupported $filter {query!r}")
        assert found is not None
        prop, value = found.group(1), found.group(2).replace("''", "'")
        matches = [
            e
            for e in self.mailbox(user).values()
            if any(
                p.get("id") == prop and p.get("value") == value
                for p in e.get("singleValueExtendedProperties", [])
            )
        ]
        return Response(200, {"value": matches})

    def _patch(self, user: str, graph_id: str, request: Request) -> Response:
        event = self.mailbox(user).get(graph_id)
        if event is None:
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        body = request.body
        need(isinstance(body, dict), "JSON body required")
        need("transactionId" not in body, "transactionId is create-only")
        previous = {a["emailAddress"]["address"]: a.get("status") for a in event["attendees"]}
        for key, value in body.items():
            if key in ("start", "end"):
                value = _graph_time(_utc_time(value, key))
            if key == "attendees":
                value = [
                    dict(
                        a, status=previous.get(a["emailAddress"]["address"]) or {"response": "none"}
                    )
                    for a in value
                ]
            event[key] = value
        return Response(200, event)

    def _cancel(self, user: str, graph_id: str, request: Request) -> Response:
        if graph_id not in self.mailbox(user):
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        body = lower_keys(request.body or {})
        need("comment" in body, "cancel takes a Comment")
        # Outlook removes a cancelled meeting from the organizer's calendar.
        del self.mailbox(user)[graph_id]
        return Response(202, None)
