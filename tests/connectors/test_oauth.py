"""Connecting a calendar: signed state, PKCE, minimal scopes, and the callback against a local
authorization server, ending with an encrypted token in the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from connectors.credentials import CredentialStore, TokenCipher
from connectors.errors import ReconnectRequired, TransientError
from connectors.oauth import (
    GOOGLE_SCOPES,
    MICROSOFT_SCOPES,
    MissingScopes,
    OAuthError,
    OAuthFlow,
    StateError,
    google_provider,
    microsoft_provider,
    refresh_access_token,
    sign_state,
    verify_state,
)
from db.engine import make_engine, make_session_factory
from db.models import Rep
from tests.fakes.http import Response as Reply
from tests.fakes.oauth import FakeOAuthServer

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
SECRET = "state-secret-for-tests"
REDIRECT = "https://convene.example/oauth/{}/callback"


@pytest.fixture
def sessions(sqlite_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(sqlite_url))


@pytest.fixture
def rep_id(sessions: sessionmaker[Session]) -> uuid.UUID:
    rep = Rep(org_id="T1", slack_user_id="U1", email="sam@acme.test", created_at=NOW)
    with sessions() as session:
        session.add(rep)
        session.commit()
    return rep.id


@pytest.fixture
def server() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(expected_scopes=GOOGLE_SCOPES) as fake:
        yield fake


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> CredentialStore:
    return CredentialStore(sessions, TokenCipher(TokenCipher.generate_key()))


def flow_for(server: FakeOAuthServer, store: CredentialStore, timeout: float = 5.0) -> OAuthFlow:
    google = google_provider(
        client_id="client-id",
        client_secret="client-secret",
        authorize_url=server.authorize_url,
        token_url=server.token_url,
    )
    return OAuthFlow(
        providers={"google": google},
        redirect_uri=REDIRECT.format,
        state_secret=SECRET,
        store=store,
        timeout=timeout,
    )


def test_google_link_asks_for_minimal_scopes_offline_with_pkce() -> None:
    flow = OAuthFlow(
        providers={"google": google_provider(client_id="cid", client_secret="cs")},
        redirect_uri=REDIRECT.format,
        state_secret=SECRET,
        store=None,  # type: ignore[arg-type]  # not reached by start()
    )
    link = urlparse(flow.start(provider="google", org_id="T1", rep_id=uuid.uuid4(), now=NOW))
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert (
        f"{link.scheme}://{link.netloc}{link.path}"
        == "https://accounts.google.com/o/oauth2/v2/auth"
    )
    assert query["scope"] == (
        "https://www.googleapis.com/auth/calendar.freebusy "
        "https://www.googleapis.com/auth/calendar.events.owned"
    )
    assert query["redirect_uri"] == "https://convene.example/oauth/google/callback"
    assert (query["response_type"], query["access_type"], query["prompt"]) == (
        "code",
        "offline",
        "consent",
    )
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert set(query) == {
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "access_type",
        "prompt",
    }


def test_microsoft_link_uses_the_tenant_and_graph_scopes() -> None:
    provider = microsoft_provider(
        client_id="cid", client_secret="cs", tenant="contoso.onmicrosoft.com"
    )
    assert (
        provider.token_url
        == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    flow = OAuthFlow(
        providers={"microsoft": provider},
        redirect_uri=REDIRECT.format,
        state_secret=SECRET,
        store=None,  # type: ignore[arg-type]
    )
    link = urlparse(flow.start(provider="microsoft", org_id="T1", rep_id=uuid.uuid4(), now=NOW))
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert link.path == "/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    assert query["scope"] == "offline_access https://graph.microsoft.com/Calendars.ReadWrite"
    assert tuple(query["scope"].split()) == MICROSOFT_SCOPES
    assert query["response_mode"] == "query"


def test_state_is_signed_bound_to_provider_and_short_lived() -> None:
    rep = uuid.uuid4()
    state = sign_state(secret=SECRET, org_id="T1", rep_id=rep, provider="google", now=NOW)
    claims = verify_state(state, secret=SECRET, provider="google", now=NOW + timedelta(minutes=5))
    assert (claims.org_id, claims.rep_id, claims.provider) == ("T1", rep, "google")
    payload, _, signature = state.partition(".")
    forged = sign_state(secret="attacker", org_id="T1", rep_id=rep, provider="google", now=NOW)
    cases = {
        "signature does not match": [
            (forged, "google", NOW),
            (payload[:-2] + "xx." + signature, "google", NOW),
            (payload, "google", NOW),
        ],
        "issued for google": [(state, "microsoft", NOW)],
        "expired": [
            (state, "google", NOW + timedelta(minutes=16)),
            (state, "google", NOW - timedelta(minutes=2)),
        ],
    }
    for message, attempts in cases.items():
        for candidate, provider, when in attempts:
            with pytest.raises(StateError, match=message):
                verify_state(candidate, secret=SECRET, provider=provider, now=when)


def test_callback_stores_an_encrypted_token(
    server: FakeOAuthServer,
    store: CredentialStore,
    sessions: sessionmaker[Session],
    rep_id: uuid.UUID,
) -> None:
    flow = flow_for(server, store)
    link = flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW)
    answer = server.authorize(link)
    connected = flow.complete(
        provider="google",
        code=answer["code"],
        state=answer["state"],
        now=NOW + timedelta(seconds=30),
    )
    assert (connected.org_id, connected.rep_id, connected.provider) == ("T1", rep_id, "google")
    assert connected.scopes == GOOGLE_SCOPES
    assert connected.expires_at == NOW + timedelta(seconds=30 + 3599)

    [exchange] = server.calls("POST", "^/token$")
    assert exchange.body["grant_type"] == "authorization_code"
    assert exchange.body["redirect_uri"] == "https://convene.example/oauth/google/callback"
    assert len(exchange.body["code_verifier"]) == 43

    with sessions() as session:
        [(ciphertext, scopes)] = session.execute(
            text("SELECT token_ciphertext, scopes FROM credentials")
        ).all()
    assert "secret" not in ciphertext  # the fake's tokens all contain "secret"
    assert "ya29." not in ciphertext and "1//" not in ciphertext
    loaded = store.load(org_id="T1", rep_id=rep_id, provider="google")
    assert loaded is not None
    assert loaded.token["access_token"].startswith("ya29.access-secret-")
    assert loaded.token["refresh_token"].startswith("1//refresh-secret-")
    assert loaded.token["access_token"] not in ciphertext
    assert loaded.token["refresh_token"] not in ciphertext
    assert '"' + GOOGLE_SCOPES[0] + '"' in scopes

    # The code is single use: replaying the callback fails and stores nothing new.
    with pytest.raises(OAuthError, match="already used"):
        flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)


def test_callback_refuses_tampered_state_before_calling_the_token_endpoint(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = flow_for(server, store)
    answer = server.authorize(flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW))
    other = sign_state(secret="guess", org_id="T1", rep_id=uuid.uuid4(), provider="google", now=NOW)
    with pytest.raises(StateError):
        flow.complete(provider="google", code=answer["code"], state=other, now=NOW)
    assert server.calls("POST") == []
    assert store.connected(org_id="T1") == []


def test_denied_consent_and_unticked_scopes_store_nothing(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = flow_for(server, store)
    answer = server.authorize(flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW))
    with pytest.raises(OAuthError, match="access_denied"):
        flow.complete(provider="google", error="access_denied", state=answer["state"], now=NOW)
    server.granted_scope_override = GOOGLE_SCOPES[0]
    with pytest.raises(MissingScopes, match="calendar.events.owned"):
        flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    assert store.connected(org_id="T1") == []


def test_scope_absent_from_answer_means_requested_scopes(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    server.omit_scope = True
    flow = flow_for(server, store)
    answer = server.authorize(flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW))
    connected = flow.complete(
        provider="google", code=answer["code"], state=answer["state"], now=NOW
    )
    assert connected.scopes == GOOGLE_SCOPES


def test_token_endpoint_outage_and_timeout_are_transient(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = flow_for(server, store, timeout=0.3)
    answer = server.authorize(flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW))
    server.inject("POST", "^/token$", Reply(503, {"error": "temporarily_unavailable"}))
    with pytest.raises(TransientError, match="503"):
        flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    server.inject("POST", "^/token$", Reply(200, {}), delay=1.0)
    with pytest.raises(TransientError, match="unreachable"):
        flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    # Neither attempt consumed the code, so the rep's retry still connects.
    flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    assert store.connected(org_id="T1") == [(rep_id, "google")]


def test_refresh_keeps_the_refresh_token_and_revocation_needs_reconnect(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = flow_for(server, store)
    answer = server.authorize(flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW))
    flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    loaded = store.load(org_id="T1", rep_id=rep_id, provider="google")
    assert loaded is not None
    provider = flow.provider("google")
    fresh = refresh_access_token(provider, refresh_token=loaded.token["refresh_token"])
    assert fresh["access_token"].startswith("ya29.refreshed-")
    assert fresh["refresh_token"] == loaded.token["refresh_token"]
    server.revoke(loaded.token["refresh_token"])
    with pytest.raises(ReconnectRequired):
        refresh_access_token(provider, refresh_token=loaded.token["refresh_token"])
    wrong_client = google_provider(
        client_id="client-id", client_secret="wrong", token_url=server.token_url
    )
    with pytest.raises(OAuthError, match="invalid_client"):
        refresh_access_token(wrong_client, refresh_token="whatever")


def test_unknown_provider_is_refused(server: FakeOAuthServer, store: CredentialStore) -> None:
    with pytest.raises(OAuthError, match="not configured"):
        flow_for(server, store).start(provider="yahoo", org_id="T1", rep_id=uuid.uuid4(), now=NOW)
