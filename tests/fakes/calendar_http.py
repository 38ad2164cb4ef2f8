"""A recording HTTP server on 127.0.0.1 for the calendar and OAuth fakes.

Real client libraries (googleapiclient/httplib2, msgraph/httpx, urllib) talk to it over real
sockets. Each fake supplies one ``handle(request) -> Reply``; this base records every request
(lower-cased header names, unquoted path, body parsed by content type) and lets a test inject
faults: a canned error instead of the handler, or the handler's real effect followed by a delay
long enough for the client to time out ("stored, then the answer was lost").
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    reply: Reply | None
    delay: float
    times: int


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- what subclasses implement --------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    # --- test controls --------------------------------------------------------------------

    def inject(
        self,
        method: str,
        path_regex: str,
        reply: Reply | None = None,
        *,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching requests get ``reply`` (the handler is skipped), or, with
        ``reply=None``, are handled for real and answered only after ``delay`` seconds."""
        with self._lock:
            self._faults.append(_Fault(method, re.compile(path_regex), reply, delay, times))

    def calls(self, method: str | None = None, path_regex: str | None = None) -> list[Request]:
        with self._lock:
            found = list(self.requests)
        return [
            r
            for r in found
            if (method is None or r.method == method)
            and (path_regex is None or re.search(path_regex, r.path))
        ]

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(http.path)
        raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        ctype = http.headers.get("Content-Type", "")
        body: Any
        if raw and "json" in ctype:
            body = json.loads(raw)
        elif raw and "form" in ctype:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        else:
            body = raw.decode() if raw else None
        request = Request(
            method=http.command,
            path=unquote(parsed.path),
            query=parse_qs(parsed.query),
            headers={k.lower(): v for k, v in http.headers.items()},
            body=body,
            raw=raw,
        )
        with self._lock:
            self.requests.append(request)
            fault = next(
                (
                    f
                    for f in self._faults
                    if f.times > 0 and f.method == request.method and f.pattern.search(request.path)
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
        reply = fault.reply if fault is not None and fault.reply is not None else None
        if reply is None:
            try:
                reply = self.handle(request)
            except Exception as error:  # a fake bug must show up as a 500, not a hung client
                reply = Reply(500, {"error": {"code": 500, "message": f"fake crashed: {error!r}"}})
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            http.send_response(reply.status)
            for name, value in reply.headers.items():
                http.send_header(name, value)
            if data:
                http.send_header("Content-Type", "application/json; charset=UTF-8")
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left, which is what the test wanted


def wait_for(predicate: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Poll a background effect with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met before the deadline")
