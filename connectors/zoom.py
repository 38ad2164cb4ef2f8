"""Zoom meetings per booking, through a Server-to-Server OAuth app of the customer's account.

Stdlib HTTP (Zoom has no official Python SDK): an account-credentials token, cached until a
minute before it expires, then the Meetings API. A create first looks among the host's
upcoming meetings for one with the same topic and start, because the outbox runs a booking
again after a crash or a lost answer, and two rooms for one meeting would leave the prospect
holding a link nobody opens.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.errors import EventNotFound, PermanentError, TransientError
from connectors.http_errors import error_for, header, retry_after
from connectors.ports import Clock, VideoRoom

TIMEOUT = 15.0
MAX_ANSWER = 2_000_000  # bytes read from one answer; the listing is the largest
EARLY = timedelta(minutes=1)  # a token this close to expiry is renewed first


class RoomNotFound(EventNotFound):
    """The Zoom meeting is not there (deleted in Zoom, or never made)."""


class ZoomRooms:
    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        api_url: str = "https://api.zoom.us/v2",
        token_url: str = "https://zoom.us/oauth/token",
        timeout: float = TIMEOUT,
    ) -> None:
        self._timeout = timeout
        self._account_id = account_id
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._clock = clock
        self._api = api_url.rstrip("/")
        self._token_url = token_url
        self._token: tuple[str, datetime] | None = None

    # --- the port ------------------------------------------------------------------------------

    def create_room(self, *, host: str, topic: str, start: datetime, minutes: int) -> VideoRoom:
        when = _zoom_time(start)
        user = urllib.parse.quote(host, safe="")
        listed = self._call("GET", f"/users/{user}/meetings?type=upcoming&page_size=300")
        for meeting in listed.get("meetings") or []:
            if meeting.get("topic") == topic and _same_instant(meeting.get("start_time"), start):
                return _room(meeting)
        made = self._call(
            "POST",
            f"/users/{user}/meetings",
            {
                "topic": topic,
                "type": 2,  # scheduled
                "start_time": when,
                "timezone": "UTC",
                "duration": minutes,
                "settings": {"join_before_host": True, "waiting_room": False},
            },
        )
        return _room(made)

    def move_room(self, *, room_id: str, start: datetime, minutes: int) -> None:
        self._call(
            "PATCH",
            f"/meetings/{urllib.parse.quote(room_id, safe='')}",
            {"start_time": _zoom_time(start), "timezone": "UTC", "duration": minutes},
        )

    def delete_room(self, *, room_id: str) -> None:
        try:
            self._call("DELETE", f"/meetings/{urllib.parse.quote(room_id, safe='')}")
        except RoomNotFound:
            return

    # --- HTTP -------------------------------------------------------------------------------

    def _bearer(self) -> str:
        now = self._clock.now()
        if self._token is not None and self._token[1] - EARLY > now:
            return self._token[0]
        query = urllib.parse.urlencode(
            {"grant_type": "account_credentials", "account_id": self._account_id}
        )
        answer = self._send(
            urllib.request.Request(
                f"{self._token_url}?{query}",
                method="POST",
                headers={"Authorization": f"Basic {self._basic}"},
            )
        )
        token = str(answer.get("access_token") or "")
        if not token:
            raise PermanentError("Zoom's token endpoint answered without a token")
        lifetime = timedelta(seconds=int(answer.get("expires_in") or 3600))
        self._token = (token, now + lifetime)
        return token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self._send(
            urllib.request.Request(self._api + path, data=data, method=method, headers=headers)
        )

    def _send(self, request: urllib.request.Request) -> dict[str, Any]:
        try:
            with _opener().open(request, timeout=self._timeout) as answer:
                raw = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientError(f"Zoom did not answer: {exc}") from exc
        if len(raw) > MAX_ANSWER:
            raise PermanentError("Zoom's answer was larger than any it should send")
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise TransientError("Zoom answered with something other than JSON") from exc
        return parsed if isinstance(parsed, dict) else {}

    def _error(self, exc: urllib.error.HTTPError) -> Exception:
        try:
            detail = json.loads(exc.read(10_000) or b"{}")
        except ValueError:
            detail = {}
        code = str(detail.get("code", "")) if isinstance(detail, dict) else ""
        message = f"Zoom answered {exc.code}" + (f" ({code})" if code else "")
        wait = retry_after(header(dict(exc.headers or {}), "Retry-After"), now=self._clock.now())
        return error_for(exc.code, message, codes=[code], retry_after=wait, not_found=RoomNotFound)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the bearer token to wherever it points; Zoom's API never sends one."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects())


def _zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_instant(text: object, moment: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) == moment
    except ValueError:
        return False


def _room(meeting: dict[str, Any]) -> VideoRoom:
    room_id, join = meeting.get("id"), meeting.get("join_url")
    if not room_id or not isinstance(join, str) or not join.startswith("https://"):
        raise PermanentError("Zoom answered without a meeting id and an https join link")
    return VideoRoom(room_id=str(room_id), join_url=join)
