"""A small recording HTTP server: routes on (METHOD, path prefix), records every request.

Stdlib only. Real client libraries (httplib2, httpx) talk to it over TCP, so their headers,
encodings and error handling are exercised exactly as against the provider.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse


@dataclass
class Request:
    method: str
    path: str  # unquoted: msgraph sends %40 for @
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names: httplib2 sends "authorization"
    raw: bytes
    body: Any  # JSON or form decoded by content type, else text


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering (to make a client time out)


Handler = Callable[[Request], Response]


class FakeHTTP:
    def __init__(self) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.calls: list[Request] = []
        self._lock = threading.Lock()
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _go(self) -> None:
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                body: Any
                if raw and "json" in ctype:
                    body = json.loads(raw)
                elif raw and "form-urlencoded" in ctype:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = raw.decode("utf-8", "replace") if raw else None
                req = Request(
                    method=self.command,
                    path=unquote(url.path),
                    query=parse_qs(url.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    raw=raw,
                    body=body,
                )
                with fake._lock:
                    fake.calls.append(req)
                    handler = fake._route(req)
                resp = handler(req) if handler else Response(404, {"error": "no route " + req.path})
                if resp.delay:
                    time.sleep(resp.delay)
                if isinstance(resp.body, (dict, list)):
                    data = json.dumps(resp.body).encode()
                elif isinstance(resp.body, str):
                    data = resp.body.encode()
                else:
                    data = resp.body or b""
                try:
                    self.send_response(resp.status)
                    self.send_header("Content-Type", resp.content_type)
                    for name, value in resp.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timed out) before we answered

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _go

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        """The longest matching prefix wins; for equal prefixes the latest, so a test can
        override one endpoint of a prepared fake."""
        self.routes.insert(0, (method, prefix, handler))

    def _route(self, req: Request) -> Handler | None:
        matches = [
            (len(prefix), -i, handler)
            for i, (method, prefix, handler) in enumerate(self.routes)
            if method == req.method and req.path.startswith(prefix)
        ]
        return max(matches, key=lambda m: (m[0], m[1]))[2] if matches else None

    def requests(self, method: str, prefix: str) -> list[Request]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
