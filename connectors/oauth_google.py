"""Google's side of a connection, spoken by google-auth-oauthlib (over requests-oauthlib): the
consent link, the callback's code exchange, and refreshing an access token.

Imported by :mod:`connectors.oauth` only when Google is used: the SDK comes with the ``google``
extra. Errors come out as :mod:`connectors.errors` say: an outage or timeout is transient,
``invalid_grant`` needs the rep to reconnect, any other refusal is permanent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2 import InvalidGrantError, MissingTokenError, OAuth2Error
from requests_oauthlib import OAuth2Session

from connectors.errors import ReconnectRequired, TransientError
from connectors.http_errors import retryable_status
from connectors.oauth_provider import OAuthError, OAuthProvider, token_fields


def authorization_url(
    provider: OAuthProvider, *, redirect_uri: str, state: str, code_verifier: str
) -> str:
    flow = _flow(provider, redirect_uri=redirect_uri, code_verifier=code_verifier)
    # offline + consent: Google only returns a refresh token on a consent screen.
    link, _ = flow.authorization_url(state=state, access_type="offline", prompt="consent")
    return str(link)


def exchange_code(
    provider: OAuthProvider, *, code: str, redirect_uri: str, code_verifier: str, timeout: float
) -> dict[str, Any]:
    flow = _flow(provider, redirect_uri=redirect_uri, code_verifier=code_verifier)
    session = flow.oauth2session
    session.register_compliance_hook("access_token_response", _refuse_outage)
    with session, _errors():
        try:
            token = flow.fetch_token(code=code, timeout=timeout)
        except Warning as narrowed:
            # oauthlib raises, rather than returns, an answer granting other scopes than were
            # asked for; the caller's scope check names what is missing.
            token = narrowed.token  # type: ignore[attr-defined]
    return token_fields(token)


def refresh_access_token(
    provider: OAuthProvider, *, refresh_token: str, timeout: float
) -> dict[str, Any]:
    session = OAuth2Session(provider.client_id)
    session.register_compliance_hook("refresh_token_response", _refuse_outage)
    with session, _errors():
        token = session.refresh_token(
            provider.token_url,
            refresh_token=refresh_token,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            timeout=timeout,
        )
    return token_fields(token)


def _flow(provider: OAuthProvider, *, redirect_uri: str, code_verifier: str) -> Flow:
    client = {
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "auth_uri": provider.authorize_url,
        "token_uri": provider.token_url,
    }
    return Flow.from_client_config(
        {"web": client},
        scopes=list(provider.scopes),
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        autogenerate_code_verifier=False,
    )


def _refuse_outage(response: requests.Response) -> requests.Response:
    # requests-oauthlib reads every answer as an OAuth error body; an outage is not one.
    if retryable_status(response.status_code):
        raise TransientError(f"token endpoint answered {response.status_code}")
    return response


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except InvalidGrantError:
        raise ReconnectRequired("the authorization grant is invalid, expired or revoked") from None
    except MissingTokenError:
        raise OAuthError("token endpoint answer has no access_token") from None
    except OAuth2Error as error:
        raise OAuthError(f"token endpoint refused ({error.error})") from None
    except requests.RequestException as error:
        raise TransientError(f"token endpoint unreachable: {error}") from None
