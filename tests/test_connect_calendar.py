"""`/schedule connect` → consent at the (fake) provider → our OAuth callback → encrypted token."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import fakeredis
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from connectors.clock import ManualClock
from connectors.oauth import GOOGLE_SCOPES
from db.models import Credential
from tests.fakes.http import Response as Reply
from tests.fakes.oauth import FakeOAuthServer
from tests.support.stack import Stack, wait_for


@pytest.fixture
def google() -> Iterator[FakeOAuthServer]:
    with FakeOAuthServer(expected_scopes=GOOGLE_SCOPES) as fake:
        yield fake


@pytest.fixture
def connect_stack(sqlite_url: str, clock: ManualClock, google: FakeOAuthServer) -> Iterator[Stack]:
    with Stack.start(
        database_url=sqlite_url,
        redis=fakeredis.FakeRedis(),
        clock=clock,
        google_client_id=google.client_id,
        google_client_secret=google.client_secret,
        google_authorize_url=google.authorize_url,
        google_token_url=google.token_url,
        credential_keys=Fernet.generate_key().decode(),
        oauth_state_secret="state-secret",
        public_url="https://convene.example",
    ) as stack:
        yield stack


def _callback(stack: Stack, query: dict[str, str]) -> tuple[int, str]:
    url = stack.events_url.replace("/slack/events", "/oauth/google/callback?" + urlencode(query))
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_connecting_google_stores_only_an_encrypted_token(
    connect_stack: Stack, google: FakeOAuthServer
) -> None:
    stack = connect_stack
    stack.command("connect")
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook],
        "the connect links",
    )[0]
    assert reply["response_type"] == "ephemeral"
    (link,) = [e["url"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]

    consent = google.authorize(link)  # the rep clicks Allow
    status, page = _callback(stack, {"code": consent["code"], "state": consent["state"]})
    assert status == 200 and "Your calendar is connected" in page
    wait_for(
        lambda: [
            m
            for m in stack.slack.messages
            if m.text == ":white_check_mark: Your Google calendar is connected."
        ],
        "DM",
    )

    (row,) = stack.rows(Credential)
    assert row.provider == "google" and tuple(row.scopes) == GOOGLE_SCOPES
    with stack.deps.engine.connect() as conn:
        raw = " ".join(str(v) for v in conn.execute(text("SELECT * FROM credentials")).one())
    assert "secret" not in raw  # every token the fake issues contains "secret"
    assert stack.deps.credentials is not None
    loaded = stack.deps.credentials.load(org_id=row.org_id, rep_id=row.rep_id, provider="google")
    assert loaded is not None and loaded.token["refresh_token"].startswith("1//refresh-secret-")

    # Replaying the callback (a code is single use) stores nothing new and says what to do.
    status, page = _callback(stack, {"code": consent["code"], "state": consent["state"]})
    assert status == 400 and "Run /schedule connect again" in page
    assert len(stack.rows(Credential)) == 1


def test_forged_state_is_refused_before_the_token_endpoint(
    connect_stack: Stack, google: FakeOAuthServer
) -> None:
    status, page = _callback(connect_stack, {"code": "c", "state": "forged.state"})
    assert status == 400 and "invalid or too old" in page
    assert google.calls("POST", "^/token$") == []
    assert connect_stack.rows(Credential) == []


def test_connect_without_configuration_says_so(stack: Stack) -> None:
    stack.command("connect")
    reply = wait_for(
        lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "the reply"
    )[0]
    assert reply["text"].startswith("Calendar connections aren't set up here yet")


def test_a_silent_microsoft_still_leaves_the_google_link(
    sqlite_url: str, clock: ManualClock, google: FakeOAuthServer
) -> None:
    # Microsoft's link is made from its authority's discovery document: here it answers 503.
    with (
        FakeOAuthServer(tenant="common") as microsoft,
        Stack.start(
            database_url=sqlite_url,
            redis=fakeredis.FakeRedis(),
            clock=clock,
            google_client_id=google.client_id,
            google_client_secret=google.client_secret,
            google_authorize_url=google.authorize_url,
            google_token_url=google.token_url,
            microsoft_client_id=microsoft.client_id,
            microsoft_client_secret=microsoft.client_secret,
            microsoft_authority=microsoft.url,
            credential_keys=Fernet.generate_key().decode(),
            oauth_state_secret="state-secret",
            public_url="https://convene.example",
        ) as stack,
    ):
        microsoft.inject("GET", "openid-configuration$", Reply(503, {"error": "unavailable"}))
        stack.command("connect")
        reply = wait_for(
            lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "reply"
        )[0]
        links = [e["url"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [url.startswith(google.authorize_url) for url in links] == [True]
        assert "Microsoft sign-in didn't answer just now" in reply["blocks"][0]["text"]["text"]
        assert [c.path for c in microsoft.requests] == [microsoft.discovery_path]

        # A minute later it answers, and both links are offered.
        stack.command("connect")
        reply = wait_for(
            lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "reply"
        )[0]
        links = [e["url"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert len(links) == 2 and links[1].startswith(microsoft.authorize_url)
