"""Connecting a calendar: signed state, PKCE, minimal scopes, and the callback against a local
authorization server, ending with an encrypted token in the database."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import structlog
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
from orchestrator.logs import configure
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
    assert provider.authority == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    # msal reads the endpoints from the authority's discovery document: a local authority.
    with FakeOAuthServer(client_id="cid", tenant="contoso.onmicrosoft.com") as authority:
        flow = OAuthFlow(
            providers={
                "microsoft": microsoft_provider(
                    client_id="cid",
                    client_secret="cs",
                    tenant="contoso.onmicrosoft.com",
                    authority=authority.url,
                )
            },
            redirect_uri=REDIRECT.format,
            state_secret=SECRET,
            store=None,  # type: ignore[arg-type]
        )
        link = urlparse(flow.start(provider="microsoft", org_id="T1", rep_id=uuid.uuid4(), now=NOW))
        [discovery] = authority.calls("GET")
    assert discovery.path == "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    query = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert link.path == "/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    # msal asks for sign-in ("openid") on every request; "profile" is left out.
    assert sorted(query["scope"].split()) == sorted((*MICROSOFT_SCOPES, "openid"))
    assert query["response_mode"] == "query"
    assert query["redirect_uri"] == "https://convene.example/oauth/microsoft/callback"
    assert (query["code_challenge_method"], len(query["code_challenge"])) == ("S256", 43)
    assert set(query) == {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }


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


# --- the libraries speak the protocol ---------------------------------------------------------


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def link_query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}


@pytest.fixture
def authority() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(tenant="common", expected_scopes=(*MICROSOFT_SCOPES, "openid")) as fake:
        yield fake


def microsoft_flow_for(
    authority: FakeOAuthServer, store: CredentialStore, timeout: float = 5.0
) -> OAuthFlow:
    microsoft = microsoft_provider(
        client_id="client-id", client_secret="client-secret", authority=authority.url
    )
    return OAuthFlow(
        providers={"microsoft": microsoft},
        redirect_uri=REDIRECT.format,
        state_secret=SECRET,
        store=store,
        timeout=timeout,
    )


def test_google_exchange_is_requests_oauthlib_with_the_links_pkce_verifier(
    server: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = flow_for(server, store)
    link = flow.start(provider="google", org_id="T1", rep_id=rep_id, now=NOW)
    answer = server.authorize(link)
    flow.complete(provider="google", code=answer["code"], state=answer["state"], now=NOW)
    [exchange] = server.calls("POST", "^/token$")
    assert challenge_of(exchange.body["code_verifier"]) == link_query(link)["code_challenge"]
    assert exchange.headers["user-agent"].startswith("python-requests/")
    # requests-oauthlib authenticates the client with HTTP Basic, not in the form.
    assert exchange.headers["authorization"].startswith("Basic ")
    assert "client_secret" not in exchange.body


def test_microsoft_callback_goes_through_msal_and_stores_the_token(
    authority: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = microsoft_flow_for(authority, store)
    link = flow.start(provider="microsoft", org_id="T1", rep_id=rep_id, now=NOW)
    answer = authority.authorize(link)
    connected = flow.complete(
        provider="microsoft", code=answer["code"], state=answer["state"], now=NOW
    )
    assert (connected.rep_id, connected.provider) == (rep_id, "microsoft")
    assert connected.expires_at == NOW + timedelta(seconds=3599)

    # msal read the discovery document, then posted to the token endpoint it names.
    discovery, exchange = authority.requests[-2:]
    assert (discovery.method, discovery.path) == ("GET", authority.discovery_path)
    assert (exchange.method, exchange.path) == ("POST", "/common/oauth2/v2.0/token")
    assert exchange.headers["x-client-sku"] == "MSAL.Python"
    assert exchange.body["grant_type"] == "authorization_code"
    assert exchange.body["redirect_uri"] == "https://convene.example/oauth/microsoft/callback"
    assert challenge_of(exchange.body["code_verifier"]) == link_query(link)["code_challenge"]
    assert sorted(exchange.body["scope"].split()) == sorted((*MICROSOFT_SCOPES, "openid"))

    loaded = store.load(org_id="T1", rep_id=rep_id, provider="microsoft")
    assert loaded is not None
    assert loaded.token["refresh_token"].startswith("1//refresh-secret-")
    assert set(loaded.token) <= {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "scope",
    }

    with pytest.raises(OAuthError, match="already used"):
        flow.complete(provider="microsoft", code=answer["code"], state=answer["state"], now=NOW)
    assert store.connected(org_id="T1") == [(rep_id, "microsoft")]


def test_microsoft_refresh_and_revocation(
    authority: FakeOAuthServer, store: CredentialStore
) -> None:
    provider = microsoft_flow_for(authority, store).provider("microsoft")
    authority.refresh_tokens["M.refresh-1"] = True
    fresh = refresh_access_token(provider, refresh_token="M.refresh-1")
    assert fresh["access_token"].startswith("ya29.refreshed-")
    assert fresh["refresh_token"] == "M.refresh-1"  # not rotated this time: kept
    [refresh] = authority.calls("POST", "/token$")
    assert refresh.body["grant_type"] == "refresh_token"
    assert refresh.headers["x-client-sku"] == "MSAL.Python"
    authority.revoke("M.refresh-1")
    with pytest.raises(ReconnectRequired):
        refresh_access_token(provider, refresh_token="M.refresh-1")
    wrong = microsoft_provider(
        client_id="client-id", client_secret="wrong", authority=authority.url
    )
    with pytest.raises(OAuthError, match="invalid_client") as refused:
        refresh_access_token(wrong, refresh_token="M.refresh-2")
    assert "wrong" not in str(refused.value)


def test_microsoft_outages_are_transient_and_leave_the_code_usable(
    authority: FakeOAuthServer, store: CredentialStore, rep_id: uuid.UUID
) -> None:
    flow = microsoft_flow_for(authority, store, timeout=0.3)
    answer = authority.authorize(
        flow.start(provider="microsoft", org_id="T1", rep_id=rep_id, now=NOW)
    )
    authority.inject("GET", "openid-configuration$", Reply(503, {"error": "unavailable"}))
    with pytest.raises(TransientError, match="503"):
        flow.complete(provider="microsoft", code=answer["code"], state=answer["state"], now=NOW)
    authority.inject("POST", "/token$", Reply(503, {"error": "temporarily_unavailable"}))
    with pytest.raises(TransientError, match="503"):
        flow.complete(provider="microsoft", code=answer["code"], state=answer["state"], now=NOW)
    authority.inject("POST", "/token$", Reply(200, {}), delay=1.0)
    with pytest.raises(TransientError, match="unreachable") as timed_out:
        flow.complete(provider="microsoft", code=answer["code"], state=answer["state"], now=NOW)
    assert "client-secret" not in str(timed_out.value)
    flow.complete(provider="microsoft", code=answer["code"], state=answer["state"], now=NOW)
    assert store.connected(org_id="T1") == [(rep_id, "microsoft")]


def test_microsoft_unknown_tenant_is_refused_and_no_authority_is_unreachable(
    authority: FakeOAuthServer, store: CredentialStore
) -> None:
    unknown = microsoft_provider(
        client_id="client-id",
        client_secret="client-secret",
        tenant="nobody",
        authority=authority.url,
    )
    with pytest.raises(OAuthError, match="refused"):
        refresh_access_token(unknown, refresh_token="r")
    gone = microsoft_provider(
        client_id="client-id", client_secret="client-secret", authority=authority.url
    )
    authority.close()
    with pytest.raises(TransientError, match="unreachable"):
        refresh_access_token(gone, refresh_token="r")


def test_a_connect_logged_at_debug_shows_no_secret(
    server: FakeOAuthServer,
    authority: FakeOAuthServer,
    store: CredentialStore,
    rep_id: uuid.UUID,
) -> None:
    stream = io.StringIO()
    configure(level="DEBUG", secrets=["client-secret", SECRET], stream=stream)
    try:
        for provider, fake, flow in (
            ("google", server, flow_for(server, store)),
            ("microsoft", authority, microsoft_flow_for(authority, store)),
        ):
            answer = fake.authorize(
                flow.start(provider=provider, org_id="T1", rep_id=rep_id, now=NOW)
            )
            flow.complete(provider=provider, code=answer["code"], state=answer["state"], now=NOW)
            stored = store.load(org_id="T1", rep_id=rep_id, provider=provider)
            assert stored is not None
            refresh_access_token(
                flow.provider(provider), refresh_token=stored.token["refresh_token"]
            )
    finally:
        configure(level="WARNING")
        structlog.reset_defaults()
    text = stream.getvalue()
    assert "requests_oauthlib" in text and "msal" in text  # the libraries did log
    exchanges = [
        call.body
        for call in server.calls("POST") + authority.calls("POST")
        if call.body["grant_type"] == "authorization_code"
    ]
    verifiers = [body["code_verifier"] for body in exchanges]
    assert len(verifiers) == 2 and all(verifiers)
    for secret in ("client-secret", "access-secret", "refresh-secret", "refreshed-", *verifiers):
        assert secret not in text
