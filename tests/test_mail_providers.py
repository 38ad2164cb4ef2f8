"""Mail through each rep's own mailbox: Gmail, Microsoft 365 and SMTP/IMAP, end to end.

The whole app runs (signed /schedule, Approve, undo window, clock tick, worker); the provider
adapters are the real ones (google-api-python-client, msgraph-sdk, smtplib/imaplib) talking to
local stand-ins: the Gmail and Graph HTTP fakes, aiosmtpd and pymap.
"""

from __future__ import annotations

import imaplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode
from urllib.request import urlopen

import fakeredis
import pytest
from cryptography.fernet import Fernet
from sqlmodel import col

from connectors.clock import ManualClock
from connectors.oauth import GMAIL_SCOPES, GOOGLE_SCOPES, GRAPH_MAIL_SCOPES, MICROSOFT_SCOPES
from db.engine import make_engine, make_session_factory
from db.models import (
    ActionStatus,
    ActionType,
    EmailMessage,
    PendingAction,
    Rep,
    SchedulingRequest,
    SequenceJob,
)
from orchestrator.doctor import run_doctor
from orchestrator.outbox.decisions import decide
from orchestrator.settings import Settings
from tests.fakes.gmail import FakeGmail
from tests.fakes.graph import FakeGraphMail
from tests.fakes.http import Response
from tests.fakes.mail import parse
from tests.fakes.mailservers import SmtpSink, imap_server, smtp_server
from tests.fakes.oauth import FakeOAuthServer
from tests.support.stack import OTHER_ID, REP_EMAIL, REP_ID, Stack, wait_for

PROSPECT = "john@acme.example"
IMAP_USER, IMAP_PASSWORD = "sam", "pw"


# --- the stand-ins -----------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def imap_port() -> Iterator[int]:
    with imap_server(user=IMAP_USER, password=IMAP_PASSWORD) as port:
        yield port


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    with smtp_server(user=IMAP_USER, password=IMAP_PASSWORD) as server:
        yield server


@contextmanager
def app(sqlite_url: str, clock: ManualClock, **settings: Any) -> Iterator[Stack]:
    """The app with Google and Microsoft sign-in configured and short mail timeouts."""
    config: dict[str, Any] = {
        "credential_keys": Fernet.generate_key().decode(),
        "oauth_state_secret": "state-secret",
        "public_url": "https://convene.example",
        "google_client_id": "google-client",
        "google_client_secret": "google-secret",
        "microsoft_client_id": "microsoft-client",
        "microsoft_client_secret": "microsoft-secret",
        "mail_timeout_seconds": 1.0,
        **settings,
    }
    with Stack.start(
        database_url=sqlite_url, redis=fakeredis.FakeRedis(), clock=clock, **config
    ) as stack:
        yield stack


# (email, name, zone) of the two people the local Slack knows.
PEOPLE = {
    REP_ID: (REP_EMAIL, "Rita Moreno", "America/New_York"),
    OTHER_ID: ("otto@northwind.example", "Otto Weber", "Europe/Berlin"),
}


def add_rep(
    stack: Stack,
    *,
    mail_provider: str,
    slack_user_id: str = REP_ID,
    created_at: datetime | None = None,
) -> Rep:
    email, name, zone = PEOPLE[slack_user_id]
    rep = Rep(
        org_id=stack.slack.team_id,
        slack_user_id=slack_user_id,
        email=email,
        name=name,
        timezone=zone,
        mail_provider=mail_provider,
        created_at=created_at or stack.clock.now(),
    )
    with stack.deps.uow() as uow:
        uow.session.add(rep)
        uow.commit()
    return rep


def store_token(
    stack: Stack,
    rep: Rep,
    provider: str,
    *,
    refresh_token: str,
    expires_at: datetime | None = None,
    scopes: tuple[str, ...] = (),
) -> None:
    assert stack.deps.credentials is not None
    stack.deps.credentials.save(
        org_id=rep.org_id,
        rep_id=rep.id,
        provider=provider,
        token={"access_token": f"access-for-{refresh_token}", "refresh_token": refresh_token},
        scopes=scopes,
        expires_at=expires_at or stack.clock.now() + timedelta(hours=1),
        now=stack.clock.now(),
    )


# --- driving the app ---------------------------------------------------------------------------


def approve_first_email(stack: Stack) -> PendingAction:
    """/schedule → draft card → Approve → undo window → clock tick: the send happens."""
    stack.schedule(f"demo with {PROSPECT} next week 45m")
    stack.drain()
    card = wait_for(stack.cards, "the approval card")[0]
    stack.click("approve_action", card)
    wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "approve")
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (action,) = stack.rows(PendingAction)
    assert action.status == ActionStatus.executed, action.error
    return action


def prospect_reply(first: PendingAction, *, to: str = REP_EMAIL) -> bytes:
    data = first.effective_data()
    msg = MimeMessage()
    msg["From"] = f"John Doe <{PROSPECT}>"
    msg["To"] = f"Rita Moreno <{to}>"
    msg["Subject"] = f"Re: {data['subject']}"
    msg["Message-ID"] = make_msgid(domain="mail.acme.example")
    msg["In-Reply-To"] = data["message_id"]
    msg["References"] = data["message_id"]
    msg.set_content("Hi Rita,\n\nThe first option works for me.\n\nJohn")
    return bytes(msg)


def assert_reply_dispatched(stack: Stack, counts: dict[str, int], reply: bytes) -> None:
    """The poll recorded the reply once and started its email_received sequence."""
    assert counts["dispatched"] == 1, counts
    assert "failed_mailboxes" not in counts and "reconnect_required" not in counts, counts
    (job,) = stack.rows(SequenceJob, col(SequenceJob.event_type) == "email_received")
    assert job.trigger_payload["matched_by"] == "thread"
    (inbound,) = stack.rows(EmailMessage, col(EmailMessage.direction) == "inbound")
    assert inbound.message_id == parse(reply)["Message-ID"]
    assert str(inbound.id) == job.trigger_payload["email_message_id"]


def approve_threaded_answer(stack: Stack, first: PendingAction, reply: bytes) -> PendingAction:
    """An approved answer in the conversation: In-Reply-To the prospect, References the chain."""
    (request,) = stack.rows(SchedulingRequest)
    reply_id = str(parse(reply)["Message-ID"])
    first_id = first.effective_data()["message_id"]
    now = stack.clock.now()
    action = PendingAction(
        org_id=first.org_id,
        rep_id=first.rep_id,
        request_id=first.request_id,
        action_type=ActionType.email_response,
        idempotency_key=f"answer-{uuid.uuid4()}",
        action_data={
            "to": [PROSPECT],
            "subject": first.effective_data()["subject"],
            "body": "Great, see you then.",
            "message_id": f"<answer.{uuid.uuid4().hex}@convene.local>",
            "in_reply_to": reply_id,
            "references": [first_id, reply_id],
            "thread_id": request.email_thread_id,
        },
        created_at=now,
        updated_at=now,
    )
    with stack.deps.uow() as uow:
        uow.session.add(action)
        uow.commit()
    assert decide(stack.deps, action_id=action.id, decision="approve", slack_user_id=REP_ID).ok
    stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
    stack.tick()
    (done,) = stack.rows(PendingAction, col(PendingAction.id) == action.id)
    assert done.status == ActionStatus.executed, done.error
    return done


def dms_to(stack: Stack, user: str) -> list[str]:
    return [m.text for m in stack.slack.messages if m.channel == f"D{user}"]


# --- Gmail ---------------------------------------------------------------------------------------


def test_gmail_rep_connects_then_sends_and_reads_through_gmail(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail
) -> None:
    with (
        FakeOAuthServer(expected_scopes=GOOGLE_SCOPES + GMAIL_SCOPES) as google,
        # Microsoft is configured too: its link is made from a (local) discovery document.
        FakeOAuthServer(tenant="common") as microsoft,
        app(
            sqlite_url,
            clock,
            mail_backend="connected",
            microsoft_authority=microsoft.url,
            google_client_id=google.client_id,
            google_client_secret=google.client_secret,
            google_authorize_url=google.authorize_url,
            google_token_url=google.token_url,
            gmail_api_endpoint=gmail.url + "/",
        ) as stack,
    ):
        # /schedule connect asks for the calendar and the mailbox; the callback moves mail.
        stack.command("connect")
        reply = wait_for(
            lambda: [r for r in stack.slack.responses if r["hook"] == stack.last_hook], "links"
        )[0]
        assert "send the emails you approve from your own address" in reply["text"]
        links = [e["url"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        (link,) = [url for url in links if url.startswith(google.authorize_url)]
        consent = google.authorize(link)
        query = urlencode({"code": consent["code"], "state": consent["state"]})
        callback = stack.events_url.replace("/slack/events", "/oauth/google/callback?" + query)
        with urlopen(callback, timeout=10) as page:
            assert "your mailbox too" in page.read().decode()
        (rep,) = stack.rows(Rep)
        assert (rep.mail_provider, rep.mail_cursor) == ("gmail", None)
        wait_for(
            lambda: any("calendar and mailbox are connected" in t for t in dms_to(stack, REP_ID)),
            "DM",
        )

        first = approve_first_email(stack)

        (sent,) = gmail.sent()
        assert sent.message_id == first.effective_data()["message_id"]
        assert sent.parsed["From"].addresses[0].addr_spec == REP_EMAIL
        assert [a.addr_spec for a in sent.parsed["To"].addresses] == [PROSPECT]
        (send_call,) = gmail.http.requests("POST", "/gmail/v1/users/me/messages/send")
        assert send_call.headers["authorization"].startswith("Bearer ya29.access-secret-")
        assert stack.inbox(PROSPECT) == [], "nothing went through the embedded mailbox"
        (request,) = stack.rows(SchedulingRequest)
        assert request.email_thread_id == sent.thread_id

        reply_raw = prospect_reply(first)
        gmail.deliver(reply_raw)
        assert_reply_dispatched(stack, stack.poll_mail(), reply_raw)

        answer = approve_threaded_answer(stack, first, reply_raw)
        threaded = [m for m in gmail.sent() if m.message_id == answer.action_data["message_id"]]
        (message,) = threaded
        assert message.thread_id == sent.thread_id
        assert message.parsed["In-Reply-To"] == parse(reply_raw)["Message-ID"]
        assert str(message.parsed["References"]).split() == [
            sent.message_id,
            str(parse(reply_raw)["Message-ID"]),
        ]
        assert message.parsed["Subject"] == f"Re: {first.effective_data()['subject']}"


# --- Microsoft 365 -------------------------------------------------------------------------------


def test_microsoft_rep_sends_and_reads_through_graph(
    sqlite_url: str, clock: ManualClock, graph: FakeGraphMail
) -> None:
    with app(
        sqlite_url, clock, mail_backend="connected", graph_base_url=graph.url + "/v1.0"
    ) as stack:
        rep = add_rep(stack, mail_provider="microsoft")
        store_token(
            stack,
            rep,
            "microsoft",
            refresh_token="M.r1",
            scopes=MICROSOFT_SCOPES + GRAPH_MAIL_SCOPES,
        )

        first = approve_first_email(stack)

        (sent,) = graph.folder("sentitems")
        mime = graph.mime(sent)
        assert mime["Message-ID"] == first.effective_data()["message_id"]
        assert [a.addr_spec for a in mime["To"].addresses] == [PROSPECT]
        assert {r.headers["authorization"] for r in graph.http.calls} == {"Bearer access-for-M.r1"}
        (request,) = stack.rows(SchedulingRequest)
        assert request.email_thread_id == sent["conversationId"]

        reply_raw = prospect_reply(first)
        graph.deliver(reply_raw)
        assert_reply_dispatched(stack, stack.poll_mail(), reply_raw)

        answer = approve_threaded_answer(stack, first, reply_raw)
        (item,) = [
            i
            for i in graph.folder("sentitems")
            if i["internetMessageId"] == answer.action_data["message_id"]
        ]
        assert item["conversationId"] == sent["conversationId"]
        message = graph.mime(item)
        assert message["In-Reply-To"] == parse(reply_raw)["Message-ID"]
        assert str(message["References"]).split() == [
            mime["Message-ID"],
            str(parse(reply_raw)["Message-ID"]),
        ]


# --- SMTP/IMAP -----------------------------------------------------------------------------------


def smtp_settings(smtp_port: int, imap_port: int) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "none",
        "smtp_username": IMAP_USER,
        "smtp_password": IMAP_PASSWORD,
        "imap_host": "127.0.0.1",
        "imap_port": imap_port,
        "imap_ssl": False,
    }


def imap_sent_ids(port: int) -> list[str]:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    try:
        imap.login(IMAP_USER, IMAP_PASSWORD)
        imap.select("Sent", readonly=True)
        _, data = imap.search(None, "ALL")
        ids = []
        for number in (data[0] or b"").split():
            _, parts = imap.fetch(number.decode(), "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            header = next(p[1] for p in parts if isinstance(p, tuple))
            ids.append(str(parse(header)["Message-ID"]))
        return ids
    finally:
        imap.logout()


def imap_deliver(port: int, raw: bytes) -> None:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=5)
    try:
        imap.login(IMAP_USER, IMAP_PASSWORD)
        assert imap.append("INBOX", None, None, raw)[0] == "OK"
    finally:
        imap.logout()


def test_smtp_rep_sends_through_the_org_server_and_reads_imap(
    sqlite_url: str, clock: ManualClock, smtp: tuple[SmtpSink, int], imap_port: int
) -> None:
    sink, smtp_port = smtp
    # MAIL_BACKEND=smtp: reps who never chose a mailbox send through the org's server, and
    # /schedule connect keeps asking for the calendar only.
    with app(
        sqlite_url, clock, mail_backend="smtp", **smtp_settings(smtp_port, imap_port)
    ) as stack:
        first = approve_first_email(stack)
        first_id = first.effective_data()["message_id"]

        (delivery,) = sink.deliveries
        assert delivery.mail_from == REP_EMAIL
        assert delivery.rcpt_tos == [PROSPECT]
        assert parse(delivery.content)["Message-ID"] == first_id
        assert first_id in imap_sent_ids(imap_port), "the Sent copy find_sent relies on"
        (request,) = stack.rows(SchedulingRequest)
        assert request.email_thread_id == first_id

        # The org's mailbox is shared: mail for someone else is not this rep's to read.
        not_ours = prospect_reply(first, to="someone.else@northwind.example")
        imap_deliver(imap_port, not_ours)
        reply_raw = prospect_reply(first)
        imap_deliver(imap_port, reply_raw)
        assert_reply_dispatched(stack, stack.poll_mail(), reply_raw)

        answer = approve_threaded_answer(stack, first, reply_raw)
        (threaded,) = [
            parse(d.content)
            for d in sink.deliveries
            if parse(d.content)["Message-ID"] == answer.action_data["message_id"]
        ]
        assert threaded["In-Reply-To"] == parse(reply_raw)["Message-ID"]
        assert str(threaded["References"]).split() == [
            first_id,
            str(parse(reply_raw)["Message-ID"]),
        ]


# --- a send whose answer was lost ----------------------------------------------------------------


def test_gmail_send_that_timed_out_after_delivery_is_reconciled(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail
) -> None:
    with app(
        sqlite_url, clock, google_token_url=gmail.url + "/token", gmail_api_endpoint=gmail.url + "/"
    ) as stack:
        rep = add_rep(stack, mail_provider="gmail")
        store_token(stack, rep, "google", refresh_token="1//r1")
        gmail.send_delay = 2.0  # Gmail stores the message, then answers after our 1 s timeout

        stack.schedule(f"demo with {PROSPECT} next week 45m")
        stack.drain()
        stack.click("approve_action", wait_for(stack.cards, "the card")[0])
        wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "ok")
        stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
        stack.tick()
        (action,) = stack.rows(PendingAction)
        assert action.status == ActionStatus.approved, "a timeout is retried, not failed"
        assert action.error is not None and "timed out" in action.error
        assert len(gmail.sent()) == 1

        gmail.send_delay = 0.0
        stack.clock.advance(timedelta(minutes=1))
        stack.tick()

        (action,) = stack.rows(PendingAction)
        assert action.status == ActionStatus.executed
        (sent,) = gmail.sent()
        assert action.result is not None and action.result["provider_id"] == sent.id
        assert len(gmail.http.requests("POST", "/gmail/v1/users/me/messages/send")) == 1
        (row,) = stack.rows(EmailMessage, col(EmailMessage.direction) == "outbound")
        assert (row.status, row.provider_message_id) == ("sent", sent.id)


def test_graph_send_that_timed_out_after_delivery_is_reconciled(
    sqlite_url: str, clock: ManualClock, graph: FakeGraphMail
) -> None:
    with app(sqlite_url, clock, graph_base_url=graph.url + "/v1.0") as stack:
        rep = add_rep(stack, mail_provider="microsoft")
        store_token(stack, rep, "microsoft", refresh_token="M.r1")
        graph.send_delay = 2.0

        stack.schedule(f"demo with {PROSPECT} next week 45m")
        stack.drain()
        stack.click("approve_action", wait_for(stack.cards, "the card")[0])
        wait_for(lambda: stack.rows(PendingAction, col(PendingAction.status) == "approved"), "ok")
        stack.clock.advance(timedelta(seconds=stack.deps.settings.undo_seconds))
        stack.tick()
        (action,) = stack.rows(PendingAction)
        assert action.status == ActionStatus.approved, action.error

        graph.send_delay = 0.0
        stack.clock.advance(timedelta(minutes=1))
        stack.tick()

        (action,) = stack.rows(PendingAction)
        assert action.status == ActionStatus.executed, action.error
        (sent,) = graph.folder("sentitems")
        assert graph.folder("drafts") == []
        assert action.result is not None and action.result["provider_id"] == sent["id"]
        sends = [r for r in graph.http.calls if r.method == "POST" and r.path.endswith("/send")]
        assert len(sends) == 1


# --- a revoked grant -----------------------------------------------------------------------------


def test_revoked_gmail_grant_asks_once_to_reconnect_and_other_reps_still_poll(
    sqlite_url: str, clock: ManualClock, gmail: FakeGmail
) -> None:
    with app(
        sqlite_url, clock, google_token_url=gmail.url + "/token", gmail_api_endpoint=gmail.url + "/"
    ) as stack:
        # Otto reads Gmail and is polled first; his grant is gone (the refresh is refused).
        otto = add_rep(
            stack,
            mail_provider="gmail",
            slack_user_id=OTHER_ID,
            created_at=clock.now() - timedelta(days=1),
        )
        expired = datetime(2000, 1, 1, tzinfo=UTC)  # google-auth refreshes before any call
        store_token(stack, otto, "google", refresh_token="1//revoked", expires_at=expired)
        gmail.token_error = Response(
            400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
        )
        # Rita stays on the embedded mailbox.
        first = approve_first_email(stack)
        reply_raw = prospect_reply(first)
        stack.deliver(reply_raw)

        counts = stack.poll_mail()

        assert counts["reconnect_required"] == 1
        assert counts["dispatched"] == 1, "Rita's reply is read despite Otto's mailbox"
        notices = [t for t in dms_to(stack, OTHER_ID) if t.startswith(":electric_plug:")]
        assert len(notices) == 1
        assert "I can't reach your mailbox" in notices[0]
        assert "`/schedule connect`" in notices[0]

        stack.clock.advance(timedelta(minutes=1))
        assert stack.poll_mail()["reconnect_required"] == 1
        assert len([t for t in dms_to(stack, OTHER_ID) if t.startswith(":electric_plug:")]) == 1

        # Otto connects again: a new grant opens a new mailbox, and polling works.
        gmail.token_error = None
        store_token(stack, otto, "google", refresh_token="1//fresh", expires_at=expired)
        counts = stack.poll_mail()
        assert "reconnect_required" not in counts and "failed_mailboxes" not in counts, counts
        assert counts["mailboxes"] == 2
        assert stack.rows(Rep, col(Rep.id) == otto.id)[0].mail_cursor == str(gmail.history_id)
        # The refreshed access token was stored for the next worker.
        assert stack.deps.credentials is not None
        loaded = stack.deps.credentials.load(org_id=otto.org_id, rep_id=otto.id, provider="google")
        assert loaded is not None and loaded.token["access_token"] == "ya29.fresh-1"


# --- configuration ------------------------------------------------------------------------------


def test_smtp_backend_without_a_server_is_a_configuration_error() -> None:
    errors = Settings(mail_backend="smtp").config_errors()
    assert "SMTP mail needs SMTP_HOST" in errors
    assert any(e.startswith("SMTP mail needs IMAP_HOST") for e in errors)
    assert Settings(mail_backend="connected").config_errors() == [
        "MAIL_BACKEND=connected needs Google or Microsoft sign-in "
        "(GOOGLE_CLIENT_ID/SECRET or MICROSOFT_CLIENT_ID/SECRET)"
    ]


def test_doctor_reports_smtp_gaps_when_a_rep_uses_smtp(sqlite_url: str, clock: ManualClock) -> None:
    settings = Settings(database_url=sqlite_url, redis_url=None)
    lines: list[str] = []
    assert run_doctor(settings, echo=lines.append) == 0

    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        session.add(
            Rep(
                org_id="T1",
                slack_user_id="U1",
                email="sam@x.example",
                mail_provider="smtp",
                created_at=clock.now(),
            )
        )
        session.commit()
    engine.dispose()
    lines.clear()

    assert run_doctor(settings, echo=lines.append) == 1
    assert "mail          local (smtp: 1 rep(s))" in lines
    assert "  BROKEN: SMTP mail needs SMTP_HOST (1 rep(s) use SMTP)" in lines
