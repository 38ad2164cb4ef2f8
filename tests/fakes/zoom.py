"""A local Zoom: the account-credentials token endpoint and the Meetings API, checking what the
real service checks (Basic client credentials, the account id, the bearer on every call)."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from tests.fakes.http import FakeHTTP, Request, Response

ACCOUNT, CLIENT, SECRET = "acct-1", "client-1", "shh-1"


class FakeZoom:
    def __init__(self) -> None:
        self.http = FakeHTTP()
        self.meetings: dict[str, dict[str, Any]] = {}
        self.tokens_issued = 0
        self._ids = itertools.count(81_000_000_001)
        self.http.route("POST", "/oauth/token", self._token)
        self.http.route("GET", "/v2/users/", self._list)
        self.http.route("POST", "/v2/users/", self._create)
        self.http.route("PATCH", "/v2/meetings/", self._patch)
        self.http.route("DELETE", "/v2/meetings/", self._delete)

    @property
    def api_url(self) -> str:
        return self.http.url + "/v2"

    @property
    def token_url(self) -> str:
        return self.http.url + "/oauth/token"

    def close(self) -> None:
        self.http.close()

    # --- endpoints ------------------------------------------------------------------------

    def _token(self, req: Request) -> Response:
        basic = base64.b64encode(f"{CLIENT}:{SECRET}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {basic}":
            return Response(401, {"reason": "Invalid client_id or client_secret", "error": "x"})
        if req.param("grant_type") != "account_credentials" or req.param("account_id") != ACCOUNT:
            return Response(400, {"reason": "Invalid request", "error": "invalid_request"})
        self.tokens_issued += 1
        return Response(200, {"access_token": f"tok-{self.tokens_issued}", "expires_in": 3600})

    def _authorised(self, req: Request) -> bool:
        return req.headers.get("authorization", "").startswith("Bearer tok-")

    def _list(self, req: Request) -> Response:
        if not self._authorised(req):
            return Response(401, {"code": 124, "message": "Invalid access token."})
        host = req.path.split("/")[3]
        mine = [m for m in self.meetings.values() if m["host_email"] == host]
        return Response(200, {"page_size": 300, "total_records": len(mine), "meetings": mine})

    def _create(self, req: Request) -> Response:
        if not self._authorised(req):
            return Response(401, {"code": 124, "message": "Invalid access token."})
        body = req.body or {}
        if not body.get("start_time", "").endswith("Z") or body.get("type") != 2:
            return Response(400, {"code": 300, "message": "Invalid start_time or type."})
        meeting_id = str(next(self._ids))
        meeting = {
            "id": int(meeting_id),
            "host_email": req.path.split("/")[3],
            "topic": body["topic"],
            "start_time": body["start_time"],
            "duration": body["duration"],
            "timezone": body.get("timezone", "UTC"),
            "join_url": f"https://us02web.zoom.us/j/{meeting_id}",
        }
        self.meetings[meeting_id] = meeting
        return Response(201, meeting)

    def _patch(self, req: Request) -> Response:
        if not self._authorised(req):
            return Response(401, {"code": 124, "message": "Invalid access token."})
        meeting = self.meetings.get(req.path.rsplit("/", 1)[1])
        if meeting is None:
            return Response(404, {"code": 3001, "message": "Meeting does not exist."})
        meeting.update({k: v for k, v in (req.body or {}).items() if k in meeting})
        return Response(204)

    def _delete(self, req: Request) -> Response:
        if not self._authorised(req):
            return Response(401, {"code": 124, "message": "Invalid access token."})
        if self.meetings.pop(req.path.rsplit("/", 1)[1], None) is None:
            return Response(404, {"code": 3001, "message": "Meeting does not exist."})
        return Response(204)
