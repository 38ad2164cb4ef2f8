"""The one recording HTTP server every provider fake is built on.

Stdlib only. Real client libraries (googleapiclient/httplib2, msgraph/httpx, openai, urllib) talk
to it over TCP on 127.0.0.1, so their headers, encodings and error handling are exercised
exactly as against the provider. It records every request (lower-cased header names, unquoted
path, body parsed by content type) and answers from routes on (METHOD, path prefix) or from a
fake's own ``handle``. A test can inject faults: a canned error instead of the handler, or the
handler's real effect followed by a delay long enough for the client to time out ("stored, then
the answer was lost").
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlparse

from tests.support.servers import stop_server


@dataclass
class Request:
    method: str
    path: str  # unquoted: msgraph sends %40 for @
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names: httplib2 sends "authorization"
    raw: bytes
    body: Any  # JSON or form decoded by content type, else text

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering (to make a client time out)


Handler = Callable[[Request], Response]


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    reply: Response | None
    delay: float
    times: int


class FakeHTTP:
    """Serving from construction until ``close()``; ``handler`` answers what no route matches.
    With ``tls`` it serves HTTPS (see tests/fakes/tls.py)."""

    def __init__(
        self, handler: Handler | None = None, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.calls: list[Request] = []
        self._fallback = handler
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _go(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _go

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        if tls is not None:
            # The handshake happens on the connection's first read, in its handler thread.
            self.server.socket = tls.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # --- test controls --------------------------------------------------------------------

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        """The longest matching prefix wins; for equal prefixes the latest, so a test can
        override one endpoint of a prepared fake."""
        with self._lock:
            self.routes.insert(0, (method, prefix, handler))

    def inject(
        self,
        method: str,
        path_regex: str,
        reply: Response | None = None,
        *,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """The next ``times`` matching requests get ``reply`` (the handler is skipped), or, with
        ``reply=None``, are handled for real and answered only after ``delay`` seconds."""
        with self._lock:
            self._faults.append(_Fault(method, re.compile(path_regex), reply, delay, times))

    def requests(self, method: str, prefix: str) -> list[Request]:
        with self._lock:
            found = list(self.calls)
        return [c for c in found if c.method == method and c.path.startswith(prefix)]

    def matching(self, method: str | None = None, path_regex: str | None = None) -> list[Request]:
        with self._lock:
            found = list(self.calls)
        return [
            r
            for r in found
            if (method is None or r.method == method)
            and (path_regex is None or re.search(path_regex, r.path))
        ]

    def close(self) -> None:
        stop_server(self.server)

    # --- plumbing -------------------------------------------------------------------------

    def _handler_for(self, req: Request) -> Handler | None:
        matches = [
            (len(prefix), -i, handler)
            for i, (method, prefix, handler) in enumerate(self.routes)
            if method == req.method and req.path.startswith(prefix)
        ]
        if matches:
            return max(matches, key=lambda m: (m[0], m[1]))[2]
        return self._fallback

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        url = urlparse(http.path)
        raw = http.rfile.read(int(http.headers.get("Content-Length") or 0))
        ctype = http.headers.get("Content-Type", "")
        body: Any
        if raw and "json" in ctype:
            body = json.loads(raw)
        elif raw and "form-urlencoded" in ctype:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        else:
            body = raw.decode("utf-8", "replace") if raw else None
        req = Request(
            method=http.command,
            path=unquote(url.path),
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in http.headers.items()},
            raw=raw,
            body=body,
        )
        with self._lock:
            self.calls.append(req)
            handler = self._handler_for(req)
            fault = next(
                (
                    f
                    for f in self._faults
                    if f.times > 0 and f.method == req.method and f.pattern.search(req.path)
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
        resp = fault.reply if fault is not None else None
        if resp is None:
            try:
                resp = handler(req) if handler else Response(404, {"error": "no route " + req.path})
            except Exception as error:  # a fake bug must show up as a 500, not a hung client
                crash = {"code": 500, "message": f"fake crashed: {error!r}"}
                resp = Response(500, {"error": crash})
        delay = resp.delay + (fault.delay if fault is not None else 0.0)
        if delay:
            time.sleep(delay)
        if isinstance(resp.body, dict | list):
            data = json.dumps(resp.body).encode()
        elif isinstance(resp.body, str):
            data = resp.body.encode()
        else:
            data = resp.body or b""
        try:
            http.send_response(resp.status)
            if data:
                http.send_header("Content-Type", resp.content_type)
            for name, value in resp.headers.items():
                http.send_header(name, value)
            http.send_header("Content-Length", str(len(data)))
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
            pass  # the client gave up (timed out) before we answered, as the test wanted


class ProviderFake:
    """A fake provider answering every request in its own ``handle``; used as a context manager.

    Tests read what it was sent from ``requests`` (all of it) and ``calls(method, path_regex)``.
    """

    http: FakeHTTP | None = None
    url = ""
    tls = False  # serve HTTPS with the test CA's certificate

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    @property
    def requests(self) -> list[Request]:
        return self.http.matching() if self.http is not None else []

    def calls(self, method: str | None = None, path_regex: str | None = None) -> list[Request]:
        return self.http.matching(method, path_regex) if self.http is not None else []

    def inject(
        self,
        method: str,
        path_regex: str,
        reply: Response | None = None,
        *,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        assert self.http is not None, "start the fake first"
        self.http.inject(method, path_regex, reply, delay=delay, times=times)

    def start(self) -> Self:
        from tests.fakes.tls import server_context  # cryptography, for the fakes that use TLS

        self.http = FakeHTTP(self.handle, tls=server_context() if self.tls else None)
        self.url = self.http.url
        return self

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
