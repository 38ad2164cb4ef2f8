"""Microsoft's side of a connection, spoken by msal: the consent link, the callback's code
exchange, and refreshing an access token.

msal reads the endpoints from the authority's OpenID discovery document, so every operation
starts with that request. Each operation gets its own ConfidentialClientApplication: a
long-lived one would keep every rep's tokens in its in-memory cache.

Imported by :mod:`connectors.oauth` only when Microsoft is used: msal comes with the
``microsoft`` extra. Errors come out as :mod:`connectors.errors` say: an outage or timeout is
transient, ``invalid_grant`` needs the rep to reconnect, any other refusal is permanent.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import msal
import requests
from msal.exceptions import MsalServiceError

from connectors.errors import ReconnectRequired, TransientError
from connectors.oauth_provider import OAuthError, OAuthProvider, token_fields

# msal adds these to every request itself and refuses them as input. It always asks for
# "openid" (sign-in only: no calendar or mail access); "profile" (the rep's name) we opt out of.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
EXCLUDED_SCOPES = ["profile"]


def authorization_url(
    provider: OAuthProvider, *, redirect_uri: str, state: str, code_challenge: str, timeout: float
) -> str:
    with _app(provider, timeout=timeout) as app, _superseded_api():
        link = app.get_authorization_request_url(
            _scopes(provider), state=state, redirect_uri=redirect_uri
        )
    # msal's link builder takes no PKCE parameters: the challenge is added here.
    pkce = {
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "response_mode": "query",
    }
    return f"{link}&{urlencode(pkce)}"


def exchange_code(
    provider: OAuthProvider, *, code: str, redirect_uri: str, code_verifier: str, timeout: float
) -> dict[str, Any]:
    with _app(provider, timeout=timeout) as app, _superseded_api():
        result = app.acquire_token_by_authorization_code(
            code,
            scopes=_scopes(provider),
            redirect_uri=redirect_uri,
            data={"code_verifier": code_verifier},
        )
    return _answer(result)


def refresh_access_token(
    provider: OAuthProvider, *, refresh_token: str, timeout: float
) -> dict[str, Any]:
    with _app(provider, timeout=timeout) as app, _errors():
        result = app.acquire_token_by_refresh_token(refresh_token, scopes=_scopes(provider))
    return _answer(result)


def _scopes(provider: OAuthProvider) -> list[str]:
    return [scope for scope in provider.scopes if scope not in RESERVED_SCOPES]


@contextmanager
def _app(provider: OAuthProvider, *, timeout: float) -> Iterator[msal.ClientApplication]:
    with _errors():
        app = msal.ConfidentialClientApplication(
            provider.client_id,
            client_credential=provider.client_secret,
            authority=provider.authority,
            timeout=timeout,
            # Instance discovery asks login.microsoftonline.com to vouch for the authority: it
            # is our own configuration, and its discovery document is read in any case.
            instance_discovery=False,
            exclude_scopes=EXCLUDED_SCOPES,
        )
    try:
        yield app
    finally:
        app.http_client.close()


@contextmanager
def _superseded_api() -> Iterator[None]:
    # msal steers towards its auth-code-flow API, which makes its own PKCE verifier and keeps
    # it in a dict to be stored until the callback; ours is derived from the signed state.
    with _errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except requests.RequestException as error:
        raise TransientError(f"Microsoft sign-in unreachable: {error}") from None
    except MsalServiceError as error:  # msal raises it for 5xx answers only
        raise TransientError(f"Microsoft sign-in answered {error}") from None
    except ValueError as error:  # an unknown tenant, an authority that is not https
        raise OAuthError(f"Microsoft sign-in refused: {error}") from None


def _answer(result: Mapping[str, Any] | None) -> dict[str, Any]:
    result = result or {}
    if "access_token" in result:
        return token_fields(result)
    code = str(result.get("error") or "error")
    if code == "invalid_grant":
        raise ReconnectRequired("the authorization grant is invalid, expired or revoked")
    raise OAuthError(f"token endpoint refused ({code})")
