"""Connecting a rep's Google or Microsoft calendar (and mailbox): authorization links, the
callback's code exchange, and refreshing stored tokens.

- ``state`` is HMAC-signed (org, rep, provider, nonce, issue time), so a callback can only store
  a token for the rep whose link it was, and only within ``state_max_age`` (CSRF, link reuse).
- PKCE (S256) on top: the verifier is derived from the state's nonce with the same secret, so
  nothing has to be stored between the link and the callback.
- Scopes are the minimum: free/busy plus events on calendars the rep owns, and — only when the
  deployment sends mail from reps' own mailboxes — sending mail and reading replies.
- The protocol is the providers' own libraries: google-auth-oauthlib (requests-oauthlib) for
  Google, msal for Microsoft, which finds its endpoints in the authority's OpenID discovery
  document. Both are imported only when used: a deployment installs the SDK of its provider.
  ``invalid_grant`` on refresh means the grant is gone: ReconnectRequired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.credentials import CredentialStore
from connectors.errors import ReconnectRequired
from connectors.oauth_provider import OAuthError, OAuthProvider

GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"

# Free/busy of colleagues, and create/change/delete events on calendars the rep owns: nothing
# that reads event details on other calendars, nothing for mail.
GOOGLE_SCOPES = (
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/calendar.events.owned",
)
# Graph has no narrower delegated scope that can create events; getSchedule is covered by it.
# offline_access is what makes Microsoft return a refresh token.
MICROSOFT_SCOPES = ("offline_access", "https://graph.microsoft.com/Calendars.ReadWrite")

# Mail from the rep's own mailbox: send, and read replies (history, raw messages, Sent lookup).
GMAIL_SCOPES = (
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.readonly",
)
# Mail.Read is not enough: Graph mail sends a draft (createReply keeps the conversation and
# our Message-ID), and creating drafts needs Mail.ReadWrite, which includes reading.
GRAPH_MAIL_SCOPES = (
    "https://graph.microsoft.com/Mail.Send",
    "https://graph.microsoft.com/Mail.ReadWrite",
)
# The rep's `mail_provider` once a connection includes the mail scopes.
MAIL_PROVIDER = {"google": "gmail", "microsoft": "microsoft"}

DEFAULT_TIMEOUT = 10.0


class StateError(OAuthError):
    """The callback's ``state`` is forged, altered, for another provider, or too old."""


class MissingScopes(OAuthError):
    """The rep unticked a permission we need on the consent screen."""


def google_provider(
    *,
    client_id: str,
    client_secret: str,
    authorize_url: str = GOOGLE_AUTHORIZE_URL,
    token_url: str = GOOGLE_TOKEN_URL,
    mail: bool = False,
) -> OAuthProvider:
    """``mail``: also ask for the rep's Gmail (send and read)."""
    return OAuthProvider(
        name="google",
        client_id=client_id,
        client_secret=client_secret,
        authorize_url=authorize_url,
        token_url=token_url,
        scopes=GOOGLE_SCOPES + GMAIL_SCOPES if mail else GOOGLE_SCOPES,
        mail_provider=MAIL_PROVIDER["google"] if mail else None,
    )


def microsoft_provider(
    *,
    client_id: str,
    client_secret: str,
    tenant: str = "common",
    authority: str = MICROSOFT_AUTHORITY,
    mail: bool = False,
) -> OAuthProvider:
    """``mail``: also ask for the rep's Microsoft 365 mailbox (send and read)."""
    return OAuthProvider(
        name="microsoft",
        client_id=client_id,
        client_secret=client_secret,
        authority=f"{authority.rstrip('/')}/{tenant}",
        scopes=MICROSOFT_SCOPES + GRAPH_MAIL_SCOPES if mail else MICROSOFT_SCOPES,
        mail_provider=MAIL_PROVIDER["microsoft"] if mail else None,
    )


# --- state and PKCE ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StateClaims:
    org_id: str
    rep_id: uuid.UUID
    provider: str
    nonce: str
    issued_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_state(
    *,
    secret: str | bytes,
    org_id: str,
    rep_id: uuid.UUID,
    provider: str,
    now: datetime,
    nonce: str | None = None,
) -> str:
    claims = {
        "o": org_id,
        "r": str(rep_id),
        "p": provider,
        "n": nonce or secrets.token_urlsafe(16),
        "t": int(now.timestamp()),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_key(secret), b"state:" + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify_state(
    state: str,
    *,
    secret: str | bytes,
    provider: str,
    now: datetime,
    max_age: timedelta = timedelta(minutes=15),
) -> StateClaims:
    payload, _, signature = state.partition(".")
    expected = _b64(hmac.new(_key(secret), b"state:" + payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        raise StateError("state signature does not match")
    try:
        claims = json.loads(_unb64(payload))
        issued = datetime.fromtimestamp(int(claims["t"]), UTC)
        result = StateClaims(
            org_id=str(claims["o"]),
            rep_id=uuid.UUID(claims["r"]),
            provider=str(claims["p"]),
            nonce=str(claims["n"]),
            issued_at=issued,
        )
    except (ValueError, KeyError, TypeError) as error:
        raise StateError(f"state is malformed: {error}") from None
    if result.provider != provider:
        raise StateError(f"state was issued for {result.provider}, not {provider}")
    if not (issued - timedelta(minutes=1) <= now <= issued + max_age):
        raise StateError("state has expired; ask for a new connect link")
    return result


def pkce_verifier(secret: str | bytes, nonce: str) -> str:
    """43 url-safe characters, reproducible from the state alone (RFC 7636 allows 43–128)."""
    return _b64(hmac.new(_key(secret), b"pkce:" + nonce.encode(), hashlib.sha256).digest())


def pkce_challenge(verifier: str) -> str:
    return _b64(hashlib.sha256(verifier.encode()).digest())


def authorization_url(
    provider: OAuthProvider,
    *,
    redirect_uri: str,
    state: str,
    code_verifier: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """The consent link. Microsoft's needs the authority's discovery document (network)."""
    if provider.name == "microsoft":
        from connectors import oauth_microsoft

        return oauth_microsoft.authorization_url(
            provider,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=pkce_challenge(code_verifier),
            timeout=timeout,
        )
    from connectors import oauth_google

    return oauth_google.authorization_url(
        provider, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier
    )


# --- token endpoint ---------------------------------------------------------------------------


def exchange_code(
    provider: OAuthProvider,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """The callback's code for tokens: the token endpoint's answer as a dict."""
    if provider.name == "microsoft":
        from connectors import oauth_microsoft as library
    else:
        from connectors import oauth_google as library  # type: ignore[no-redef]
    try:
        return library.exchange_code(
            provider,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            timeout=timeout,
        )
    except ReconnectRequired as error:
        # A bad code at connect time is not a lost grant: the link was stale or reused.
        raise OAuthError("the authorization code is invalid or was already used") from error


def refresh_access_token(
    provider: OAuthProvider, *, refresh_token: str, timeout: float = DEFAULT_TIMEOUT
) -> dict[str, Any]:
    """A fresh access token; keeps the refresh token when the provider does not rotate it."""
    if provider.name == "microsoft":
        from connectors import oauth_microsoft as library
    else:
        from connectors import oauth_google as library  # type: ignore[no-redef]
    token = library.refresh_access_token(provider, refresh_token=refresh_token, timeout=timeout)
    token.setdefault("refresh_token", refresh_token)
    return token


def expires_at(token: Mapping[str, Any], now: datetime) -> datetime | None:
    seconds = token.get("expires_in")
    return now + timedelta(seconds=int(seconds)) if seconds is not None else None


def granted_scopes(provider: OAuthProvider, token: Mapping[str, Any]) -> tuple[str, ...]:
    raw = token.get("scope")
    return tuple(str(raw).split()) if raw else provider.scopes


def _normalise_scope(scope: str) -> str:
    # Microsoft answers "Calendars.ReadWrite" or the full URI form for the same grant.
    return scope.lower().removeprefix("https://graph.microsoft.com/")


def _missing(provider: OAuthProvider, granted: Sequence[str]) -> list[str]:
    have = {_normalise_scope(s) for s in granted}
    # offline_access is never echoed back; the refresh token's presence is its proof.
    return [s for s in provider.scopes if s != "offline_access" and _normalise_scope(s) not in have]


# --- the flow the web process runs ------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    org_id: str
    rep_id: uuid.UUID
    provider: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    # "gmail" | "microsoft" when the rep granted their mailbox too; None for calendar only.
    mail_provider: str | None = None


class OAuthFlow:
    """``start`` makes the link for ``/schedule connect``; ``complete`` is the whole callback."""

    def __init__(
        self,
        *,
        providers: Mapping[str, OAuthProvider],
        redirect_uri: Callable[[str], str],
        state_secret: str | bytes,
        store: CredentialStore,
        timeout: float = DEFAULT_TIMEOUT,
        state_max_age: timedelta = timedelta(minutes=15),
    ) -> None:
        if not state_secret:
            raise ValueError("an OAuth state secret is required")
        self._providers = dict(providers)
        self._redirect_uri = redirect_uri
        self._secret = state_secret
        self._store = store
        self._timeout = timeout
        self._max_age = state_max_age

    def provider(self, name: str) -> OAuthProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise OAuthError(f"provider {name!r} is not configured") from None

    def start(self, *, provider: str, org_id: str, rep_id: uuid.UUID, now: datetime) -> str:
        config = self.provider(provider)
        nonce = secrets.token_urlsafe(16)
        state = sign_state(
            secret=self._secret,
            org_id=org_id,
            rep_id=rep_id,
            provider=provider,
            now=now,
            nonce=nonce,
        )
        return authorization_url(
            config,
            redirect_uri=self._redirect_uri(provider),
            state=state,
            code_verifier=pkce_verifier(self._secret, nonce),
            timeout=self._timeout,
        )

    def complete(
        self,
        *,
        provider: str,
        state: str,
        now: datetime,
        code: str | None = None,
        error: str | None = None,
    ) -> Connected:
        """Verify ``state``, exchange ``code``, check the scopes, store the token encrypted."""
        config = self.provider(provider)
        claims = verify_state(
            state, secret=self._secret, provider=provider, now=now, max_age=self._max_age
        )
        if error or not code:
            raise OAuthError(f"authorization was not granted ({error or 'no code'})")
        token = exchange_code(
            config,
            code=code,
            redirect_uri=self._redirect_uri(provider),
            code_verifier=pkce_verifier(self._secret, claims.nonce),
            timeout=self._timeout,
        )
        scopes = granted_scopes(config, token)
        if missing := _missing(config, scopes):
            raise MissingScopes(f"permissions not granted: {', '.join(missing)}")
        if not token.get("refresh_token"):
            # Without one the connection dies within the hour; better to say so now.
            raise OAuthError("the provider returned no refresh token; connect again")
        expiry = expires_at(token, now)
        self._store.save(
            org_id=claims.org_id,
            rep_id=claims.rep_id,
            provider=provider,
            token=token,
            scopes=scopes,
            expires_at=expiry,
            now=now,
        )
        # Every requested scope was granted (checked above), so a mail-scoped provider means
        # the mailbox is connected too.
        return Connected(
            claims.org_id, claims.rep_id, provider, scopes, expiry, config.mail_provider
        )
