"""Push intake: Gmail's Pub/Sub pushes and Graph's change notifications trigger the same mailbox
read polling queues, so a message is taken in once whichever path brings it.

The app runs whole (real web server, worker, clock tick) with the real Gmail and Graph adapters
against their local fakes; Pub/Sub's OIDC tokens are signed with a test RSA key whose public
half a local stand-in for Google's certificate endpoint serves.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, or_, text, update
from sqlmodel import col, select

from connectors import pubsub_push
from connectors.clock import ManualClock
from connectors.oauth import GRAPH_MAIL_SCOPES, MICROSOFT_SCOPES
from db.engine import make_engine, make_session_factory
from db.models import EmailMessage, Rep, SequenceJob
from orchestrator.inbox.mail_watches import GRAPH_LIFETIME, queue_watch_renewals, watches_due
from orchestrator.settings import Settings
from tests.fakes.gmail import FakeGmail
from tests.fakes.google_certs import AUDIENCE, SERVICE_ACCOUNT, FakeGoogleCerts
from tests.fakes.graph import FakeGraphMail
from tests.support.stack import REP_EMAIL, Stack
from tests.test_mail_providers import (
    add_rep,
    app,
    approve_first_email,
    prospect_reply,
    store_token,
)

TOPIC = "projects/convene-test/topics/gmail"


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    fake = FakeGmail(address=REP_EMAIL)
    yield fake
    fake.close()


@pytest.fixture
def graph() -> Iterator[FakeGraphMail]:
    fake = FakeGraphMail(address=REP_EMAIL)
    yield fake
    fake.close()


@pytest.fixture
def google() -> Iterator[FakeGoogleCerts]:
    fake = FakeGoogleCerts()
    yield fake
    fake.close()


def base_url(stack: Stack) -> str:
    return stack.events_url.removesuffix("/slack/events")


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def push(stack: Stack, gmail: FakeGmail, token: str | None, **message: Any) -> int:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(gmail.pubsub_message(**message)).encode()
    status, _, _ = post(base_url(stack) + "/webhooks/gmail", body, headers)
    return status


def notify(stack: Stack, batch: dict[str, Any]) -> int:
    body = json.dumps(batch).encode()
    headers = {"Content-Type": "application/json"}
    status, _, _ = post(base_url(stack) + "/webhooks/graph", body, headers)
    return status


def queued_reads(stack: Stack) -> list[str]:
    return [job_id for job_id in stack.deps.queue.job_ids if job_id.startswith("mail-")]


def inbound(stack: Stack) -> list[EmailMessage]:
    return stack.rows(EmailMessage, col(EmailMessage.direction) == "inbound")


def received_jobs(stack: Stack) -> list[SequenceJob]:
    return stack.rows(SequenceJob, col(SequenceJob.event_type) == "email_received")


def the_rep(stack: Stack) -> Rep:
    (rep,) = stack.rows(Rep)
    return rep


def gmail_push_settings(gmail: FakeGmail, google: FakeGoogleCerts) -> dict[str, Any]:
    return {
        "mail_backend": "connected",
        "google_token_url": gmail.url + "/token",
        "gmail_api_endpoint": gmail.url + "/",
        "gmail_push_topic": TOPIC,
        "gmail_push_audience": AUDIENCE,
        "gmail_push_service_account": SERVICE_ACCOUNT,
        "gmail_push_certs_url": google.certs_url,
    }


# --- Gmail -------------------------------------------------------------------------------------


def test_a_gmail_push_reads_the_mailbox_once_however_often_the_message_is_seen(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail, google: FakeGoogleCerts
) -> None:
    with app(sqlite_url, clock, **gmail_push_settings(gmail, google)) as stack:
        rep = add_rep(stack, mail_provider="gmail")
        store_token(stack, rep, "google", refresh_token="1//r1")
        first = approve_first_email(stack)  # its tick also read the mailbox: the cursor is set

        # The same tick made the watch on the inbox, renewed a day later (Google asks daily).
        (watch,) = gmail.watches
        assert watch == {
            "topicName": TOPIC,
            "labelIds": ["INBOX"],
            "labelFilterBehavior": "include",
        }
        rep = the_rep(stack)
        assert rep.watch_expires_at == gmail.watch_expiration
        assert rep.watch_renew_at == clock.now() + timedelta(days=1)

        before = rep.mail_cursor
        reply = prospect_reply(first)
        gmail.deliver(reply)

        assert push(stack, gmail, google.token()) == 204
        assert queued_reads(stack) == [f"mail-{rep.id}"]
        stack.drain()
        assert len(inbound(stack)) == 1 and len(received_jobs(stack)) == 1

        # Pub/Sub delivers the same push again; then the clock's poll reads the mailbox too.
        assert push(stack, gmail, google.token()) == 204
        stack.drain()
        counts = stack.poll_mail()
        assert "dispatched" not in counts, counts
        # A poll that started from the old cursor while the push's read ran sees it again.
        with stack.deps.uow() as uow:
            uow.session.execute(update(Rep).values(mail_cursor=before))
            uow.commit()
        assert stack.poll_mail()["duplicates"] == 1

        assert len(inbound(stack)) == 1, "taken in once"
        assert len(received_jobs(stack)) == 1


REFUSED = {
    "forged signature": ({"forged": True}, 401),
    "wrong audience": ({"audience": "https://attacker.example/push"}, 401),
    "expired": ({"expires_in": -3600}, 401),
    "not Google's issuer": ({"issuer": "https://evil.example"}, 401),
    "another service account": ({"email": "someone@evil.iam.gserviceaccount.com"}, 403),
    "unverified email": ({"email_verified": False}, 403),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_gmail_push_without_our_subscriptions_token_queues_nothing(
    case: str, sqlite_url: str, clock: ManualClock, gmail: FakeGmail, google: FakeGoogleCerts
) -> None:
    claims, status = REFUSED[case]
    with app(sqlite_url, clock, **gmail_push_settings(gmail, google)) as stack:
        rep = add_rep(stack, mail_provider="gmail")
        store_token(stack, rep, "google", refresh_token="1//r1")

        assert push(stack, gmail, google.token(**claims)) == status
        assert push(stack, gmail, None) == 401
        assert push(stack, gmail, "not-a-jwt") == 401
        assert queued_reads(stack) == []

        assert push(stack, gmail, google.token()) == 204  # the same push, properly signed
        assert queued_reads(stack) == [f"mail-{rep.id}"]


def test_googles_certificates_are_kept_and_read_again_for_a_new_key(
    sqlite_url: str,
    clock: ManualClock,
    gmail: FakeGmail,
    google: FakeGoogleCerts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with app(sqlite_url, clock, **gmail_push_settings(gmail, google)) as stack:
        rep = add_rep(stack, mail_provider="gmail")
        store_token(stack, rep, "google", refresh_token="1//r1")

        for _ in range(3):
            assert push(stack, gmail, google.token()) == 204
        assert len(google.http.calls) == 1, "fetched once, then kept"

        # A token under a key id the kept set lacks: within a minute of the last fetch it is
        # refused without asking Google again (a forger cannot make us hammer it)...
        google.rotate()
        assert push(stack, gmail, google.token()) == 401
        assert len(google.http.calls) == 1
        # ...after that, Google's new set is read and the rotated key is accepted.
        monkeypatch.setattr(pubsub_push, "REFETCH_AT_MOST_EVERY_SECONDS", 0.0)
        assert push(stack, gmail, google.token()) == 204
        assert len(google.http.calls) == 2
        assert queued_reads(stack) == [f"mail-{rep.id}"]


def test_a_gmail_push_only_chooses_among_reps_connected_to_that_gmail(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail, google: FakeGoogleCerts
) -> None:
    with app(sqlite_url, clock, **gmail_push_settings(gmail, google)) as stack:
        rep = add_rep(stack, mail_provider="microsoft")  # the same address, not on Gmail

        assert push(stack, gmail, google.token(), address=rep.email) == 204
        assert push(stack, gmail, google.token(), address="stranger@else.example") == 204
        assert queued_reads(stack) == []

        # Unreadable data from our own subscription is acknowledged, never retried forever.
        headers = {"Authorization": f"Bearer {google.token()}"}
        body = b'{"message": {"data": "!!not base64 json!!"}}'
        assert post(base_url(stack) + "/webhooks/gmail", body, headers)[0] == 204
        assert queued_reads(stack) == []


def test_gmail_push_is_off_until_it_can_check_tokens(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail, google: FakeGoogleCerts
) -> None:
    with app(sqlite_url, clock) as stack:
        assert push(stack, gmail, google.token()) == 404
        assert notify(stack, {"value": []}) == 404
        assert queue_watch_renewals(stack.deps) == 0
    # A topic without the token's audience and account, or Graph push without a public URL,
    # is a configuration error `convene doctor` reports.
    assert Settings(gmail_push_topic=TOPIC).config_errors() == [
        "GMAIL_PUSH_TOPIC needs GMAIL_PUSH_AUDIENCE and GMAIL_PUSH_SERVICE_ACCOUNT "
        "(the push's token is checked against them)"
    ]
    assert Settings(graph_push=True).config_errors() == [
        "GRAPH_PUSH needs PUBLIC_URL (Graph posts to PUBLIC_URL/webhooks/graph)"
    ]
    assert Settings(graph_push=True, public_url="https://c.example").watched_providers() == [
        "microsoft"
    ]


# --- Microsoft Graph ---------------------------------------------------------------------------


def test_graph_subscription_handshake_notifications_and_renewal(
    sqlite_url: str, clock: ManualClock, graph: FakeGraphMail
) -> None:
    with app(
        sqlite_url,
        clock,
        mail_backend="connected",
        graph_base_url=graph.url + "/v1.0",
        graph_push=True,
        mail_timeout_seconds=5.0,  # many Graph calls on a loaded machine
    ) as stack:
        stack.deps.settings.public_url = base_url(stack)
        rep = add_rep(stack, mail_provider="microsoft")
        store_token(
            stack,
            rep,
            "microsoft",
            refresh_token="M.r1",
            scopes=MICROSOFT_SCOPES + GRAPH_MAIL_SCOPES,
            expires_at=clock.now() + timedelta(days=30),  # no refresh as the days pass
        )
        first = approve_first_email(stack)

        # The tick subscribed: Graph's validation request was answered by our endpoint.
        (sub,) = graph.subscriptions.values()
        assert sub["changeType"] == "created"
        assert sub["resource"] == "me/mailFolders('inbox')/messages"
        assert sub["notificationUrl"] == base_url(stack) + "/webhooks/graph"
        rep = the_rep(stack)
        assert rep.watch_id == sub["id"]
        secret = sub["clientState"]
        assert len(secret) >= 32 and rep.watch_secret_digest != secret
        assert rep.watch_secret_digest == hashlib.sha256(secret.encode()).hexdigest()
        assert rep.watch_expires_at == clock.now() + GRAPH_LIFETIME

        reply = prospect_reply(first)
        graph.deliver(reply)

        # A notification with another clientState is answered, and ignored.
        assert notify(stack, graph.notification(sub["id"], client_state="guessed")) == 202
        assert notify(stack, graph.notification(sub["id"], client_state="")) == 202
        assert queued_reads(stack) == []

        assert notify(stack, graph.notification(sub["id"])) == 202
        assert queued_reads(stack) == [f"mail-{rep.id}"]
        stack.drain()
        assert notify(stack, graph.notification(sub["id"])) == 202  # replayed
        stack.drain()
        assert "dispatched" not in stack.poll_mail()
        assert len(inbound(stack)) == 1 and len(received_jobs(stack)) == 1

        # Renewed a day before it lapses, in place; not before.
        assert rep.watch_renew_at == rep.watch_expires_at - timedelta(days=1)
        clock.advance(timedelta(days=4))
        stack.tick()
        assert graph.http.requests("PATCH", "/v1.0/subscriptions/") == []
        clock.advance(timedelta(days=1, minutes=1))
        stack.tick()
        (patch,) = graph.http.requests("PATCH", "/v1.0/subscriptions/")
        assert patch.path == f"/v1.0/subscriptions/{sub['id']}"
        renewed = the_rep(stack)
        assert (renewed.watch_id, renewed.watch_secret_digest) == (
            rep.watch_id,
            rep.watch_secret_digest,
        )
        assert renewed.watch_expires_at == clock.now() + GRAPH_LIFETIME

        # Graph lost it: the next renewal makes a new one, with a new secret.
        graph.subscriptions.clear()
        clock.advance(timedelta(days=5, minutes=1))
        stack.tick()
        (new,) = graph.subscriptions.values()
        again = the_rep(stack)
        assert again.watch_id == new["id"] and new["clientState"] != secret
        assert notify(stack, graph.notification(new["id"], client_state=secret)) == 202
        assert queued_reads(stack) == []


def test_graph_validation_echoes_the_token_as_plain_text(
    sqlite_url: str, clock: ManualClock
) -> None:
    with app(sqlite_url, clock, graph_push=True) as stack:
        url = base_url(stack) + "/webhooks/graph?validationToken=" + "Validation%3A%20<b>hi</b>"
        status, body, content_type = post(url, b"")
        assert (status, body) == (200, b"Validation: <b>hi</b>")
        assert content_type.startswith("text/plain")


def test_a_failed_watch_is_tried_again_an_hour_later_and_the_tick_reads_due_watches_once(
    sqlite_url: str, clock: ManualClock, graph: FakeGraphMail
) -> None:
    with app(
        sqlite_url,
        clock,
        mail_backend="connected",
        graph_base_url=graph.url + "/v1.0",
        graph_push=True,
        public_url="http://127.0.0.1:9/unreachable",  # Graph's validation request fails
    ) as stack:
        rep = add_rep(stack, mail_provider="microsoft")
        store_token(stack, rep, "microsoft", refresh_token="M.r1")

        seen: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        event.listen(stack.deps.engine, "before_cursor_execute", record)
        try:
            assert queue_watch_renewals(stack.deps) == 1
        finally:
            event.remove(stack.deps.engine, "before_cursor_execute", record)
        assert len(seen) == 1, seen

        stack.drain()
        failed = the_rep(stack)
        assert graph.subscriptions == {}
        assert failed.watch_id is None
        assert failed.watch_renew_at == clock.now() + timedelta(hours=1)
        assert queue_watch_renewals(stack.deps) == 0  # not before the hour


def test_the_ticks_query_for_due_watches_reads_only_watchable_mailboxes(
    pg_url: str, clock: ManualClock
) -> None:
    """On PostgreSQL, with thousands of reps on other mail, the query goes through the partial
    index and finds the due watches (never made, or renewal time passed) oldest first."""
    engine = make_engine(pg_url)
    now = clock.now()
    prototype = Rep(org_id="T0", slack_user_id="U", email="x@y.example", created_at=now)
    base = prototype.model_dump()
    rows = [
        {**base, "id": uuid.uuid4(), "slack_user_id": f"U{i}", "mail_provider": "local"}
        for i in range(5000)
    ]
    due_later, due_now, never = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rows += [
        {**base, "id": due_later, "slack_user_id": "G1", "mail_provider": "gmail",
         "watch_renew_at": now + timedelta(hours=3)},
        {**base, "id": due_now, "slack_user_id": "G2", "mail_provider": "microsoft",
         "watch_renew_at": now - timedelta(minutes=1)},
        {**base, "id": never, "slack_user_id": "G3", "mail_provider": "gmail"},
    ]  # fmt: skip
    try:
        with make_session_factory(engine)() as session:
            session.execute(insert(Rep), rows)
            session.commit()
            session.execute(text("ANALYZE reps"))
            found = watches_due(session, now=now, providers=["gmail", "microsoft"])
            assert found == [never, due_now]
            query = (
                select(Rep.id)
                .where(col(Rep.mail_provider).in_(["gmail", "microsoft"]))
                .where(or_(col(Rep.watch_renew_at).is_(None), col(Rep.watch_renew_at) <= now))
                .order_by(col(Rep.watch_renew_at).asc().nulls_first())
                .limit(200)
            )
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
            assert "ix_reps_watch_renew" in plan, plan
    finally:
        engine.dispose()
