"""WebhookPort over the standard library's http.client: one POST per call, https only.

http.client never follows a redirect, so a 3xx is only a status to record: a receiver cannot
bounce a signed event to an address the admin did not register. The whole call (connect, TLS,
send, the answer's headers and body) runs against one deadline, and at most `MAX_BODY` bytes
of the answer are read, so a receiver that trickles or floods holds a worker for no longer than
the timeout.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from connectors.errors import PermanentError, TransientError
from connectors.ports import WebhookResponse

MAX_BODY = 4096
CHUNK = 1024


class HttpWebhooks:
    def __init__(self, *, timeout: float, ca_file: str | None = None) -> None:
        self._timeout = timeout
        self._tls = ssl.create_default_context(cafile=ca_file)

    def post(self, *, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise PermanentError("only https:// URLs receive webhooks")
        deadline = time.monotonic() + self._timeout
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port or 443, timeout=self._timeout, context=self._tls
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={**headers, "Content-Length": str(len(body)), "Connection": "close"},
            )
            _shrink_timeout(connection, deadline)
            response = connection.getresponse()
            received = b""
            while len(received) < MAX_BODY:
                _shrink_timeout(connection, deadline)
                chunk = response.read1(CHUNK)
                if not chunk:
                    break
                received += chunk
            return WebhookResponse(status=response.status, body=received[:MAX_BODY])
        except (OSError, http.client.HTTPException) as exc:
            # Refused, reset, a TLS failure, a timeout or a garbled answer: worth retrying.
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()


def _shrink_timeout(connection: http.client.HTTPSConnection, deadline: float) -> None:
    """Each socket read waits only for what is left of the whole call's time."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the receiver took longer than the webhook timeout")
    if connection.sock is not None:
        connection.sock.settimeout(left)
