"""Who sent a Pub/Sub push: the OIDC token on `Authorization: Bearer …`, checked with google-auth.

A push subscription signs each request as a service account. Anyone can reach the push URL, so
a request counts only when its token is signed by Google, unexpired, issued by Google for our
audience, and names the configured service account with a verified email. Anything less is
refused before the body is read for meaning.

Google's signing certificates are fetched once and kept for a few minutes (every push would
otherwise cost a round trip to Google); a token naming a key the kept set lacks refetches them,
at most once a minute, so a key rotation is picked up without letting forged key ids make us
hammer Google.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from google.auth import exceptions as google_exceptions
from google.auth import transport
from google.oauth2 import id_token

ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CERTS_TTL_SECONDS = 300.0
REFETCH_AT_MOST_EVERY_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0


class PushRejected(Exception):
    """The push is not from our subscription: ``status`` is what to answer (401 or 403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class CertsUnavailable(Exception):
    """Google's certificates could not be read: answer 503 so Pub/Sub delivers again."""


class _Response(transport.Response):
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class _KeptCerts(transport.Request):
    """google-auth's transport for the one GET it makes, answered from a short-lived copy."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, _Response]] = {}
        self._fetched_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def forget_unless_knows(self, url: str, key_id: str) -> None:
        with self._lock:
            kept = self._kept.get(url)
            if kept is None or key_id in _json(kept[1].data):
                return
            if time.monotonic() - self._fetched_at.get(url, 0.0) >= REFETCH_AT_MOST_EVERY_SECONDS:
                del self._kept[url]

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(url)
            if kept is not None and kept[0] > now:
                return kept[1]
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310 - a configured https URL
                response = _Response(answer.status, dict(answer.headers), answer.read())
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise google_exceptions.TransportError(f"certificates unavailable: {exc}") from exc
        with self._lock:
            self._kept[url] = (now + CERTS_TTL_SECONDS, response)
            self._fetched_at[url] = now
        return response


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _key_id(token: str) -> str:
    header = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return ""
    kid = decoded.get("kid") if isinstance(decoded, dict) else None
    return kid if isinstance(kid, str) else ""


class PushTokens:
    """Checks the bearer tokens of one push subscription (thread-safe; keep one per process)."""

    def __init__(self, *, audience: str, service_account: str, certs_url: str) -> None:
        self._audience = audience
        self._service_account = service_account.lower()
        self._certs_url = certs_url
        self._request = _KeptCerts()

    def verify(self, authorization: str) -> None:
        """Raise PushRejected (or CertsUnavailable) unless ``authorization`` is our push's."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise PushRejected(401, "no bearer token")
        self._request.forget_unless_knows(self._certs_url, _key_id(token))
        try:
            claims = id_token.verify_token(
                token, self._request, audience=self._audience, certs_url=self._certs_url
            )
        except google_exceptions.TransportError as exc:
            raise CertsUnavailable(str(exc)) from exc
        except (ValueError, google_exceptions.GoogleAuthError) as exc:
            # A bad signature, an unknown key, an expired token, another audience, garbage.
            raise PushRejected(401, f"invalid token: {exc}") from exc
        if claims.get("iss") not in ISSUERS:
            raise PushRejected(401, "token not issued by Google")
        email = claims.get("email")
        if not isinstance(email, str) or email.lower() != self._service_account:
            raise PushRejected(403, "token of another account")
        if claims.get("email_verified") is not True:
            raise PushRejected(403, "the account's email is not verified")
