"""A CRM's webhook receiver: HTTPS on 127.0.0.1 (the test CA's certificate), recording every
delivery it is sent, with switches for the ways a receiver fails.

- `answer(status, delay=…, headers=…, body=…)`: how the next requests are answered;
- `down()`: the port stops listening (connections are refused), `up()` listens on it again.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.tls import server_context
from tests.support.servers import stop_server


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what it was answered


@dataclass
class _Answer:
    status: int = 204
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answer = _Answer()
        self._lock = threading.Lock()
        self._tls = server_context()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._port}/convene"

    def answer(
        self,
        status: int,
        *,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        with self._lock:
            self._answer = _Answer(status, delay, dict(headers or {}), body)

    def deliveries(self) -> list[Received]:
        """What it answered 2xx to, in arrival order."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    answer = receiver._answer
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, raw, answer.status))
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the sender gave up first, as a test wanted

        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        server.socket = self._tls.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            stop_server(self._server)
            self._server = None

    def close(self) -> None:
        self.down()
